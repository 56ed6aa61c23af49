/*
 * Placeholder found only when the 6.12 uAPI headers are not set up: the
 * workspace config (.cargo/config.toml) puts this directory on the C include
 * path *after* target/uapi/include, so bindgen (v4l2r, the simulator) and gcc
 * reach it instead of the system's older linux/videodev2.h, and the build
 * stops with the step to run rather than with dozens of errors inside v4l2r.
 */
#error "hantro_drv_video: the Linux 6.12 uAPI headers are missing (target/uapi/include). Run scripts/setup-host.sh once (or `make uapi` if the packages are installed), then build again."
