# hantro_drv_video: build, stage and install the VA-API driver.
#
#   make                  release build
#   make stage            target/stage/hantro_drv_video.so, for LIBVA_DRIVERS_PATH
#   make install          into libva's driver dir (pkg-config libva driverdir),
#                         plus <name>_drv_video.so links for DRM_NAMES and
#                         the udev rule giving the seat's user the decoder
#                         nodes (UDEVRULESDIR, default $(PREFIX)/lib/udev/rules.d)
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
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
UDEV_RULE := 70-hantro_drv_video.rules

# cargo's output directory (an environment CARGO_TARGET_DIR is cargo's too,
# e.g. target/aarch64 for scripts/aarch64-build.sh)
CARGO_TARGET_DIR ?= target
TARGET_DIR := $(CARGO_TARGET_DIR)$(if $(TARGET),/$(TARGET))/$(PROFILE)
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

# DRM driver names of the boards' GPU render nodes (panfrost: RK3566/RK3568/
# RK3399, Allwinner H6; panthor: RK3588; lima: Allwinner A64/H5; etnaviv:
# i.MX8M) and display nodes. libva (no LIBVA_DRIVER_NAME) loads
# <drmGetVersion name>_drv_video.so, so `make install` links each
# <name>_drv_video.so -> hantro_drv_video.so. A file of that name that is not
# our link is left alone (reported). `make install DRM_NAMES=` links none.
DRM_NAMES ?= panfrost panthor lima etnaviv rockchip sun4i-drm imx-drm imx-dcss mxsfb-drm

install: build
	install -d "$(DESTDIR)$(DRIVERDIR)"
	install -m 0644 $(SO) "$(DESTDIR)$(DRIVERDIR)/hantro_drv_video.so"
	install -D -m 0644 packaging/$(UDEV_RULE) "$(DESTDIR)$(UDEVRULESDIR)/$(UDEV_RULE)"
	@cd "$(DESTDIR)$(DRIVERDIR)" && for n in $(DRM_NAMES); do \
	  l="$${n}_drv_video.so"; \
	  if [ -e "$$l" -o -L "$$l" ] && [ "$$(readlink "$$l")" != hantro_drv_video.so ]; then \
	    echo "not linking $$l: $(DESTDIR)$(DRIVERDIR)/$$l exists and is not ours" >&2; \
	  else \
	    ln -sfn hantro_drv_video.so "$$l" && echo "$(DESTDIR)$(DRIVERDIR)/$$l -> hantro_drv_video.so"; \
	  fi; \
	done

uninstall:
	@cd "$(DESTDIR)$(DRIVERDIR)" 2>/dev/null && for n in $(DRM_NAMES); do \
	  l="$${n}_drv_video.so"; \
	  if [ -L "$$l" ] && [ "$$(readlink "$$l")" = hantro_drv_video.so ]; then rm -f "$$l"; fi; \
	done; true
	rm -f "$(DESTDIR)$(DRIVERDIR)/hantro_drv_video.so" "$(DESTDIR)$(UDEVRULESDIR)/$(UDEV_RULE)"

test:
	scripts/test-all.sh

aarch64:
	CARGO_TARGET_DIR=$(CURDIR)/target scripts/aarch64-build.sh

clean:
	$(CARGO) clean
