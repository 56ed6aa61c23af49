//! Build script: Rust bindings for the installed libva driver ABI (bindgen) and
//! the exported C header in include/ (cbindgen).
use std::env;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));

    // libva include dir: pkg-config when present (cross builds set
    // PKG_CONFIG_SYSROOT_DIR / PKG_CONFIG_LIBDIR), else the default.
    let mut clang_args: Vec<String> = Vec::new();
    if let Ok(o) = std::process::Command::new("pkg-config").args(["--cflags-only-I", "libva"]).output() {
        if o.status.success() {
            for a in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                clang_args.push(a.to_string());
            }
        }
    }
    if let Ok(sysroot) = env::var("HANTRO_SYSROOT") {
        clang_args.push(format!("--sysroot={sysroot}"));
    }
    let target = env::var("TARGET").expect("TARGET");
    clang_args.push(format!("--target={target}"));

    // Say what to run instead of failing deep inside bindgen.
    let mut dirs: Vec<PathBuf> = clang_args.iter().filter_map(|a| a.strip_prefix("-I")).map(PathBuf::from).collect();
    if let Ok(sysroot) = env::var("HANTRO_SYSROOT") {
        dirs.push(PathBuf::from(sysroot).join("usr/include"));
    }
    dirs.push(PathBuf::from("/usr/include"));
    if !dirs.iter().any(|d| d.join("va/va_backend.h").exists()) {
        panic!("libva's driver headers (va/va_backend.h) are not installed: run scripts/setup-host.sh once (Debian: libva-dev libclang-dev clang pkg-config libdrm-dev), then build again");
    }

    let wrapper = manifest.join("src/ffi/va_wrapper.h");
    println!("cargo:rerun-if-changed={}", wrapper.display());
    println!("cargo:rerun-if-env-changed=HANTRO_SYSROOT");
    let bindings = bindgen::Builder::default()
        .header(wrapper.to_string_lossy())
        .clang_args(&clang_args)
        .allowlist_type("VA.*|_VA.*")
        .allowlist_var("VA_.*|VA[A-Z].*")
        .allowlist_function("__never_generate_functions__")
        .derive_default(true)
        .derive_debug(true)
        .layout_tests(false)
        .prepend_enum_name(false)
        .generate()
        .expect("bindgen over va/va_backend.h failed (is libva-dev installed?)");
    bindings.write_to_file(out.join("va.rs")).expect("write va.rs");

    // __vaDriverInit_1_<minor> for the libva we build against.
    let minor = va_minor_version(&clang_args).unwrap_or(0);
    std::fs::write(
        out.join("init_symbol.rs"),
        format!(
            "/// Entry point named after the libva minor version of the build (1.{minor}).\n\
             ///\n/// # Safety\n/// `ctx` must be a VADriverContext prepared by libva.\n\
             #[no_mangle]\npub unsafe extern \"C\" fn __vaDriverInit_1_{minor}(ctx: va::VADriverContextP) -> va::VAStatus {{\n    \
             guard(\"vaInitialize\", || init(ctx))\n}}\n"
        ),
    )
    .expect("write init_symbol.rs");

    // Exported C header.
    println!("cargo:rerun-if-changed=src/va/init.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let header = manifest.join("include/hantro_drv_video.h");
    let mut config = cbindgen::Config::from_file(manifest.join("cbindgen.toml")).expect("cbindgen.toml");
    if minor != 0 {
        config.after_includes = Some(format!(
            "\n/* Same entry point as __vaDriverInit_1_0, named after the libva minor version of the build. */\nVAStatus __vaDriverInit_1_{minor}(VADriverContextP ctx);"
        ));
    }
    match cbindgen::Builder::new().with_crate(&manifest).with_config(config).generate() {
        Ok(b) => {
            let mut buf = Vec::new();
            b.write(&mut buf);
            if std::fs::read(&header).ok().as_deref() != Some(&buf[..]) {
                std::fs::write(&header, &buf).expect("write include/hantro_drv_video.h");
            }
        }
        Err(e) => println!("cargo:warning=cbindgen: {e}"),
    }
}

/// VA_MINOR_VERSION from the va/va_version.h the bindings were made from.
fn va_minor_version(clang_args: &[String]) -> Option<u32> {
    let mut dirs: Vec<PathBuf> = clang_args.iter().filter_map(|a| a.strip_prefix("-I")).map(PathBuf::from).collect();
    if let Ok(sysroot) = env::var("HANTRO_SYSROOT") {
        dirs.push(PathBuf::from(sysroot).join("usr/include"));
    }
    dirs.push(PathBuf::from("/usr/include"));
    for d in dirs {
        let p = d.join("va/va_version.h");
        if let Ok(text) = std::fs::read_to_string(&p) {
            println!("cargo:rerun-if-changed={}", p.display());
            for line in text.lines() {
                let mut it = line.split_whitespace();
                if it.next() == Some("#define") && it.next() == Some("VA_MINOR_VERSION") {
                    return it.next()?.parse().ok();
                }
            }
        }
    }
    None
}
