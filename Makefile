# hantro_drv_video: build, stage and install the VA-API driver.
#
#   make                  release build
#   make stage            target/stage/hantro_drv_video.so, for LIBVA_DRIVERS_PATH
#   make install          into libva's driver dir (pkg-config libva driverdir)
#                         PREFIX / DESTDIR / DRIVERDIR override the location
#   make test             everything CI runs (same as scripts/test-all.sh)
#   make aarch64          cross build for aarch64-unknown-linux-gnu (installs the
#                         Debian cross toolchain first; see README)
CARGO    ?= cargo
PROFILE  ?= release
TARGET   ?=
PREFIX   ?= /usr
DESTDIR  ?=
PKG_CONFIG ?= pkg-config
DRIVERDIR ?= $(shell $(PKG_CONFIG) --variable=driverdir libva 2>/dev/null | sed 's|^/usr|$(PREFIX)|' || echo $(PREFIX)/lib/dri)
ifeq ($(DRIVERDIR),)
DRIVERDIR := $(PREFIX)/lib/dri
endif

TARGET_DIR := target$(if $(TARGET),/$(TARGET))/$(PROFILE)
SO := $(TARGET_DIR)/libhantro_drv_video.so
CARGO_FLAGS := $(if $(filter release,$(PROFILE)),--release) $(if $(TARGET),--target $(TARGET))

.PHONY: all build stage install uninstall test aarch64 uapi clean

all: build

uapi:
	@scripts/uapi-link.sh

build: uapi
	$(CARGO) build $(CARGO_FLAGS) -p hantro_drv_video

stage: build
	@mkdir -p target/stage
	cp -f $(SO) target/stage/hantro_drv_video.so
	@echo "LIBVA_DRIVERS_PATH=$(CURDIR)/target/stage LIBVA_DRIVER_NAME=hantro"

install: build
	install -d "$(DESTDIR)$(DRIVERDIR)"
	install -m 0644 $(SO) "$(DESTDIR)$(DRIVERDIR)/hantro_drv_video.so"

uninstall:
	rm -f "$(DESTDIR)$(DRIVERDIR)/hantro_drv_video.so"

test:
	scripts/test-all.sh

aarch64:
	CARGO_TARGET_DIR=$(CURDIR)/target scripts/aarch64-build.sh

clean:
	$(CARGO) clean
