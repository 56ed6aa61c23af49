use std::env;
use std::path::PathBuf;

fn uapi_include() -> String {
    if let Ok(p) = env::var("V4L2R_VIDEODEV2_H_PATH") {
        // The workspace config points at the directory holding linux/.
        let p = PathBuf::from(p);
        if p.join("linux/videodev2.h").exists() {
            return p.display().to_string();
        }
        if p.join("videodev2.h").exists() {
            return p.parent().unwrap().display().to_string();
        }
    }
    // Never the system's headers (bookworm: 6.1, no AV1 controls): the
    // placeholder on C_INCLUDE_PATH (.cargo/config.toml) then stops the build
    // with the set-up step to run.
    panic!("the Linux 6.12 uAPI headers are missing (target/uapi/include): run scripts/setup-host.sh once, then build again")
}

fn main() {
    let inc = uapi_include();
    println!("cargo::rerun-if-env-changed=V4L2R_VIDEODEV2_H_PATH");
    println!("cargo::rerun-if-changed=wrapper.h");
    println!("cargo::rerun-if-changed=csrc/avshim.c");
    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_arg(format!("-I{inc}"))
        .allowlist_type("v4l2_.*|media_.*|dma_buf_.*")
        .allowlist_var("V4L2_.*|MEDIA_.*|DMA_BUF_.*|VIDEO_MAX_.*")
        .derive_default(true)
        .layout_tests(false)
        .generate()
        .expect("bindgen on uAPI headers");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    bindings.write_to_file(out.join("uapi.rs")).unwrap();

    cc::Build::new().file("csrc/avshim.c").flag_if_supported("-Wno-deprecated-declarations").compile("hantro_sim_avshim");
    println!("cargo:rustc-link-lib=avcodec");
    println!("cargo:rustc-link-lib=avutil");
}
