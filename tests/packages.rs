//! Packages (issue 20): the Debian package (debian/, dpkg-buildpackage
//! through scripts/package-deb.sh) and the Arch Linux package
//! (packaging/arch/PKGBUILD, Debian's makepkg through
//! scripts/package-arch.sh), each for x86_64 and aarch64, must hold exactly
//! what `make install PREFIX=/usr DESTDIR=...` of the same build installs:
//! the same paths, file types, permission bits and symlink targets, owned by
//! root, with the driver built for the package's architecture (ELF machine,
//! `__vaDriverInit_1_*` exported) and from the same build (GNU build ID
//! equal to the installed one: the packages strip it, so bytes differ).
//!
//! What `make install` is compared with:
//! * Debian: `make install` with its own DRIVERDIR default (libva's
//!   pkg-config driverdir; for aarch64 with the arm64 pkg-config of
//!   scripts/aarch64-setup.sh), against debian/rules' /usr/lib/<multiarch>/dri.
//!   Excluded from the package side, because Debian policy requires them in
//!   every package and `make install` has no business installing them:
//!   usr/share/doc/hantro-drv-video/{copyright,changelog.gz} and their
//!   directories.
//! * Arch: `make install DRIVERDIR=/usr/lib/dri` (Arch's libva driverdir,
//!   which this Debian host's pkg-config cannot tell). Excluded from the
//!   package side: makepkg's metadata .PKGINFO, .BUILDINFO, .MTREE (checked
//!   for name, version and architecture instead).
//!
//! The builds are the project's, run by the packaging itself: x86_64 in
//! target/ (`make build`), aarch64 with the cross environment of
//! scripts/aarch64-setup.sh in target/aarch64 (nothing to compile after
//! tests/aarch64.rs). x86_64 does compile once inside `cargo test`: the
//! test build of the library (dev-dependency on itself with test-hooks)
//! and the plain build share the unhashed cdylib
//! target/release/libhantro_drv_video.so, so each invalidates the other;
//! `make build` here puts the plain driver back there (about a minute). Tools missing on the host fail the test (never a skip):
//! scripts/setup-host.sh installs them.
//!
//! The cross packages need an x86_64 host (the project's cross toolchain is
//! Debian amd64 -> arm64), so, like tests/aarch64.rs, this exists only there.
#![cfg(target_arch = "x86_64")]
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fresh(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("packages").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ok(what: &str, o: Output) -> String {
    let tail = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        let v: Vec<&str> = s.lines().collect();
        v[v.len().saturating_sub(40)..].join("\n")
    };
    assert!(o.status.success(), "{what} failed ({:?}):\n{}\n--- stderr (tail)\n{}", o.status, tail(&o.stdout), tail(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn run(what: &str, cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    ok(what, o)
}

/// bash with the aarch64 cross environment (scripts/aarch64-setup.sh)
/// when `cross`, so that pkg-config answers for arm64.
fn shell(script: &str, cross: bool) -> Command {
    let mut c = Command::new("bash");
    let pre = if cross { "eval \"$(scripts/aarch64-setup.sh)\" && " } else { "" };
    c.arg("-c").arg(format!("set -euo pipefail; {pre}{script}")).current_dir(repo());
    c
}

#[derive(Debug, PartialEq, Eq, Clone)]
enum Kind {
    Dir,
    File,
    Link(String),
}

#[derive(Debug, PartialEq, Eq, Clone)]
struct Entry {
    kind: Kind,
    mode: u32,
}

/// Every path under `root` (relative, without the root itself) with its
/// type, permission bits and link target.
fn tree(root: &Path) -> BTreeMap<String, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let kind = if m.file_type().is_symlink() {
                Kind::Link(std::fs::read_link(&p).unwrap().to_string_lossy().into_owned())
            } else if m.is_dir() {
                Kind::Dir
            } else {
                assert!(m.is_file(), "{}: neither file, directory nor symlink", p.display());
                Kind::File
            };
            let mode = if matches!(kind, Kind::Link(_)) { 0o777 } else { m.permissions().mode() & 0o7777 };
            let is_dir = kind == Kind::Dir;
            out.insert(rel, Entry { kind, mode });
            if is_dir {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn show(t: &BTreeMap<String, Entry>) -> String {
    t.iter().map(|(p, e)| format!("  {:o} {p} {:?}", e.mode, e.kind)).collect::<Vec<_>>().join("\n")
}

/// `make install` of the driver the package build just built (-o build:
/// make runs no cargo).
fn make_install(destdir: &Path, cross: bool, extra: &str) -> BTreeMap<String, Entry> {
    let target = if cross { "TARGET=aarch64-unknown-linux-gnu CARGO_TARGET_DIR=target/aarch64" } else { "CARGO_TARGET_DIR=target" };
    run("make install", &mut shell(&format!("make -o build install PREFIX=/usr DESTDIR='{}' {target} {extra}", destdir.display()), cross));
    tree(destdir)
}

/// The driver in a tree: its ELF machine, its exported entry point and its
/// GNU build ID.
fn driver_facts(so: &Path, cross: bool) -> (u16, String) {
    let b = std::fs::read(so).unwrap_or_else(|e| panic!("{}: {e}", so.display()));
    assert!(b.len() > 20 && &b[..4] == b"\x7fELF" && b[4] == 2, "{}: not a 64-bit ELF", so.display());
    let machine = u16::from_le_bytes([b[18], b[19]]);
    let nm = if cross { "aarch64-linux-gnu-nm" } else { "nm" };
    let syms = run(nm, Command::new(nm).args(["-D", "--defined-only"]).arg(so));
    assert!(syms.lines().any(|l| l.contains(" T __vaDriverInit_1_")), "{}: no __vaDriverInit_1_* exported:\n{syms}", so.display());
    let notes = run("readelf -n", Command::new("readelf").arg("-n").arg(so));
    let id =
        notes.lines().find_map(|l| l.trim().strip_prefix("Build ID: ")).unwrap_or_else(|| panic!("{}: no GNU build ID:\n{notes}", so.display())).to_string();
    (machine, id)
}

/// Compares a package tree with the `make install` tree (both after the
/// exclusions named above) and checks the driver in both.
fn compare(what: &str, pkg: &BTreeMap<String, Entry>, pkg_root: &Path, inst: &BTreeMap<String, Entry>, inst_root: &Path, driverdir: &str, cross: bool) {
    assert_eq!(pkg, inst, "{what}: package content differs from `make install`'s\npackage:\n{}\nmake install:\n{}", show(pkg), show(inst));
    // what make install itself must have put there
    let so = format!("{driverdir}/hantro_drv_video.so");
    assert_eq!(inst.get(&so).map(|e| &e.kind), Some(&Kind::File), "{what}: no {so}:\n{}", show(inst));
    let links = inst.iter().filter(|(p, e)| p.starts_with(driverdir) && e.kind == Kind::Link("hantro_drv_video.so".into())).count();
    assert_eq!(links, 9, "{what}: expected the 9 board-name links in {driverdir}:\n{}", show(inst));
    assert!(inst.contains_key("usr/lib/udev/rules.d/70-hantro_drv_video.rules"), "{what}: no udev rule:\n{}", show(inst));
    let (pm, pid) = driver_facts(&pkg_root.join(&so), cross);
    let (im, iid) = driver_facts(&inst_root.join(&so), cross);
    let want = if cross { 183 } else { 62 }; // EM_AARCH64, EM_X86_64
    assert_eq!((pm, im), (want, want), "{what}: ELF machine of the packaged / installed driver");
    assert_eq!(pid, iid, "{what}: the packaged driver is not from the build make install installs");
}

fn cargo_version() -> String {
    let toml = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    toml.lines().find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"')).expect("version in Cargo.toml").to_string()
}

fn deb(arch: &str, cross: bool) {
    let t0 = std::time::Instant::now();
    let out = fresh(&format!("deb-{arch}"));
    let stdout = run(&format!("scripts/package-deb.sh {arch}"), &mut shell(&format!("scripts/package-deb.sh {arch} '{}'", out.display()), false));
    let deb = PathBuf::from(stdout.lines().last().expect("package-deb.sh printed the .deb").trim());
    let version = cargo_version();
    assert_eq!(deb, out.join(format!("hantro-drv-video_{version}_{arch}.deb")), "package file name");

    let field = |f: &str| run("dpkg-deb -f", Command::new("dpkg-deb").arg("-f").arg(&deb).arg(f)).trim().to_string();
    assert_eq!(field("Package"), "hantro-drv-video");
    assert_eq!(field("Version"), version, "debian/changelog's version must be Cargo.toml's");
    assert_eq!(field("Architecture"), arch);
    assert!(field("Depends").contains("libc6"), "shlibs:Depends was not filled: {}", field("Depends"));
    // owner of every member
    let listing = run("dpkg-deb -c", Command::new("dpkg-deb").arg("-c").arg(&deb));
    for l in listing.lines() {
        assert_eq!(l.split_whitespace().nth(1), Some("root/root"), "{arch}: member not owned by root: {l}");
    }

    let pkg_root = out.join("root");
    run("dpkg-deb -x", Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&pkg_root));
    let mut pkg = tree(&pkg_root);
    // Debian policy's files (see the top of the file)
    let doc = "usr/share/doc/hantro-drv-video";
    for p in [format!("{doc}/copyright"), format!("{doc}/changelog.gz")] {
        assert_eq!(pkg.remove(&p).map(|e| e.kind), Some(Kind::File), "{arch}: no {p} in the package");
    }
    for d in [doc, "usr/share/doc", "usr/share"] {
        assert_eq!(pkg.remove(d).map(|e| e.kind), Some(Kind::Dir), "{arch}: no {d}/ in the package");
    }

    let inst_root = out.join("make-install");
    let inst = make_install(&inst_root, cross, "");
    let multiarch = if cross { "aarch64-linux-gnu" } else { "x86_64-linux-gnu" };
    compare(&format!(".deb {arch}"), &pkg, &pkg_root, &inst, &inst_root, &format!("usr/lib/{multiarch}/dri"), cross);
    eprintln!("deb {arch}: {} paths equal to make install's, {:.0} s", pkg.len(), t0.elapsed().as_secs_f64());
}

fn arch_pkg(carch: &str, cross: bool) {
    let t0 = std::time::Instant::now();
    let out = fresh(&format!("arch-{carch}"));
    let stdout = run(&format!("scripts/package-arch.sh {carch}"), &mut shell(&format!("scripts/package-arch.sh {carch} '{}'", out.display()), false));
    let pkgfile = PathBuf::from(stdout.lines().last().expect("package-arch.sh printed the package").trim());
    let version = cargo_version();
    assert_eq!(pkgfile, out.join(format!("hantro-drv-video-{version}-1-{carch}.pkg.tar.zst")), "package file name");

    let listing = run("bsdtar -tvf", Command::new("bsdtar").arg("-tvf").arg(&pkgfile));
    for l in listing.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        assert_eq!((f.get(2), f.get(3)), (Some(&"root"), Some(&"root")), "{carch}: member not owned by root: {l}");
    }
    let pkg_root = out.join("root");
    std::fs::create_dir_all(&pkg_root).unwrap();
    run("bsdtar -xpf", Command::new("bsdtar").arg("-xpf").arg(&pkgfile).arg("-C").arg(&pkg_root));
    let mut pkg = tree(&pkg_root);
    let info = std::fs::read_to_string(pkg_root.join(".PKGINFO")).expect(".PKGINFO");
    for want in ["pkgname = hantro-drv-video".to_string(), format!("pkgver = {version}-1"), format!("arch = {carch}")] {
        assert!(info.lines().any(|l| l == want), "{carch}: .PKGINFO has no '{want}':\n{info}");
    }
    // makepkg's metadata (see the top of the file)
    for m in [".PKGINFO", ".BUILDINFO", ".MTREE"] {
        assert_eq!(pkg.remove(m).map(|e| e.kind), Some(Kind::File), "{carch}: no {m} in the package");
    }

    let inst_root = out.join("make-install");
    let inst = make_install(&inst_root, cross, "DRIVERDIR=/usr/lib/dri");
    compare(&format!("Arch {carch}"), &pkg, &pkg_root, &inst, &inst_root, "usr/lib/dri", cross);
    eprintln!("arch {carch}: {} paths equal to make install's, {:.0} s", pkg.len(), t0.elapsed().as_secs_f64());
}

#[test]
fn debian_packages_equal_make_install() {
    deb("amd64", false);
    deb("arm64", true);
}

#[test]
fn arch_packages_equal_make_install() {
    arch_pkg("x86_64", false);
    arch_pkg("aarch64", true);
}
