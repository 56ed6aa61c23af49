//! Media controller uAPI (linux/media.h): device info, topology, requests.
//! Struct layouts are checked against the kernel header by tests/abi.rs.
use super::ioctl::{ioctl, iowr, v4l2r_call, V4l2Error, V4l2Result};
use std::os::fd::RawFd;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct media_device_info {
    pub driver: [u8; 16],
    pub model: [u8; 32],
    pub serial: [u8; 40],
    pub bus_info: [u8; 32],
    pub media_version: u32,
    pub hw_revision: u32,
    pub driver_version: u32,
    pub reserved: [u32; 31],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct media_v2_topology {
    pub topology_version: u64,
    pub num_entities: u32,
    pub reserved1: u32,
    pub ptr_entities: u64,
    pub num_interfaces: u32,
    pub reserved2: u32,
    pub ptr_interfaces: u64,
    pub num_pads: u32,
    pub reserved3: u32,
    pub ptr_pads: u64,
    pub num_links: u32,
    pub reserved4: u32,
    pub ptr_links: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct media_v2_entity {
    pub id: u32,
    pub name: [u8; 64],
    pub function: u32,
    pub flags: u32,
    pub reserved: [u32; 5],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct media_v2_intf_devnode {
    pub major: u32,
    pub minor: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct media_v2_interface {
    pub id: u32,
    pub intf_type: u32,
    pub flags: u32,
    pub reserved: [u32; 9],
    /// union { devnode; raw[16] }
    pub raw: [u32; 16],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct media_v2_link {
    pub id: u32,
    pub source_id: u32,
    pub sink_id: u32,
    pub flags: u32,
    pub reserved: [u32; 6],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct media_v2_pad {
    pub id: u32,
    pub entity_id: u32,
    pub flags: u32,
    pub index: u32,
    pub reserved: [u32; 4],
}

pub const MEDIA_ENT_F_PROC_VIDEO_DECODER: u32 = 0x4008;
pub const MEDIA_INTF_T_V4L_VIDEO: u32 = 0x200;
pub const MEDIA_LNK_FL_LINK_TYPE: u32 = 0xf << 28;
pub const MEDIA_LNK_FL_INTERFACE_LINK: u32 = 1 << 28;

pub const MEDIA_IOC_DEVICE_INFO: libc::c_ulong = iowr::<media_device_info>(b'|', 0x00);
pub const MEDIA_IOC_G_TOPOLOGY: libc::c_ulong = iowr::<media_v2_topology>(b'|', 0x04);

pub fn cstr(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

pub struct DeviceInfo {
    pub driver: String,
    pub model: String,
    pub bus_info: String,
}

pub fn device_info(fd: RawFd) -> V4l2Result<DeviceInfo> {
    // SAFETY: media_device_info is plain old data; all-zero is valid.
    let mut info: media_device_info = unsafe { std::mem::zeroed() };
    ioctl(fd, MEDIA_IOC_DEVICE_INFO, "MEDIA_IOC_DEVICE_INFO", &mut info)?;
    Ok(DeviceInfo { driver: cstr(&info.driver), model: cstr(&info.model), bus_info: cstr(&info.bus_info) })
}

/// A decoder entity and the device number of its video interface node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderEntity {
    pub name: String,
    pub video_major: u32,
    pub video_minor: u32,
}

/// MEDIA_IOC_G_TOPOLOGY, twice: once for the counts, once for the arrays.
/// Returns the video-decoder entities with their video interface nodes.
pub fn decoder_entities(fd: RawFd) -> V4l2Result<Vec<DecoderEntity>> {
    for _attempt in 0..4 {
        let mut topo = media_v2_topology::default();
        ioctl(fd, MEDIA_IOC_G_TOPOLOGY, "MEDIA_IOC_G_TOPOLOGY", &mut topo)?;
        let version = topo.topology_version;
        // Counts come from the kernel; a real media graph has a handful of
        // objects. Refuse absurd ones rather than attempt a huge allocation
        // (an allocation failure aborts the client process).
        const MAX_OBJECTS: u32 = 4096;
        if [topo.num_entities, topo.num_interfaces, topo.num_links, topo.num_pads].iter().any(|&n| n > MAX_OBJECTS) {
            return Err(super::V4l2Error::Unsupported(format!(
                "implausible media topology: {} entities, {} interfaces, {} links, {} pads",
                topo.num_entities, topo.num_interfaces, topo.num_links, topo.num_pads
            )));
        }
        let zero_ent = media_v2_entity { id: 0, name: [0; 64], function: 0, flags: 0, reserved: [0; 5] };
        let zero_if = media_v2_interface { id: 0, intf_type: 0, flags: 0, reserved: [0; 9], raw: [0; 16] };
        let mut ents = vec![zero_ent; topo.num_entities as usize];
        let mut ifs = vec![zero_if; topo.num_interfaces as usize];
        let mut links = vec![media_v2_link::default(); topo.num_links as usize];
        let mut pads = vec![media_v2_pad::default(); topo.num_pads as usize];
        topo.ptr_entities = ents.as_mut_ptr() as u64;
        topo.ptr_interfaces = ifs.as_mut_ptr() as u64;
        topo.ptr_links = links.as_mut_ptr() as u64;
        topo.ptr_pads = pads.as_mut_ptr() as u64;
        let counts = (topo.num_entities, topo.num_interfaces, topo.num_links, topo.num_pads);
        ioctl(fd, MEDIA_IOC_G_TOPOLOGY, "MEDIA_IOC_G_TOPOLOGY", &mut topo)?;
        if topo.topology_version != version || counts != (topo.num_entities, topo.num_interfaces, topo.num_links, topo.num_pads) {
            continue; // the graph changed between the calls
        }
        return Ok(decoders_of(&ents, &ifs, &links));
    }
    Err(super::V4l2Error::Unsupported("media topology kept changing".into()))
}

fn decoders_of(ents: &[media_v2_entity], ifs: &[media_v2_interface], links: &[media_v2_link]) -> Vec<DecoderEntity> {
    let mut out = Vec::new();
    for e in ents.iter().filter(|e| e.function == MEDIA_ENT_F_PROC_VIDEO_DECODER) {
        // An interface link goes from the interface (source) to the entity
        // (sink). Decoder entities usually have no interface of their own:
        // the video node is linked to the source/sink I/O entities that are
        // data-linked to the decoder, so fall back to any video interface
        // of the graph (one m2m device per media device).
        let direct = links.iter().filter(|l| l.flags & MEDIA_LNK_FL_LINK_TYPE == MEDIA_LNK_FL_INTERFACE_LINK && l.sink_id == e.id);
        let mut node = None;
        for l in direct {
            if let Some(i) = ifs.iter().find(|i| i.id == l.source_id && i.intf_type == MEDIA_INTF_T_V4L_VIDEO) {
                node = Some(i);
                break;
            }
        }
        let node = node.or_else(|| {
            // interfaces linked to any entity of the graph
            let linked: Vec<u32> = links.iter().filter(|l| l.flags & MEDIA_LNK_FL_LINK_TYPE == MEDIA_LNK_FL_INTERFACE_LINK).map(|l| l.source_id).collect();
            ifs.iter().find(|i| i.intf_type == MEDIA_INTF_T_V4L_VIDEO && linked.contains(&i.id))
        });
        if let Some(i) = node {
            out.push(DecoderEntity { name: cstr(&e.name), video_major: i.raw[0], video_minor: i.raw[1] });
        }
    }
    out
}

/// A media request (v4l2r's: the fd is closed on drop).
pub use v4l2r::ioctl::Request;

fn request_errno(e: v4l2r::ioctl::RequestError) -> Result<(), v4l2r::nix::errno::Errno> {
    match e {
        v4l2r::ioctl::RequestError::IoctlError(errno) => Err(errno),
        _ => Err(v4l2r::nix::errno::Errno::EINVAL),
    }
}

/// MEDIA_IOC_REQUEST_ALLOC on the media node.
pub fn request_alloc(media_fd: RawFd) -> V4l2Result<Request> {
    let mut out = None;
    v4l2r_call("MEDIA_IOC_REQUEST_ALLOC", || match Request::alloc(&media_fd) {
        Ok(r) => {
            out = Some(r);
            Ok(())
        }
        Err(e) => request_errno(e),
    })?;
    out.ok_or(V4l2Error::Ioctl { name: "MEDIA_IOC_REQUEST_ALLOC", errno: libc::EIO })
}

pub fn request_queue(req: &Request) -> V4l2Result<()> {
    v4l2r_call("MEDIA_REQUEST_IOC_QUEUE", || req.queue().or_else(request_errno))
}

pub fn request_reinit(req: &Request) -> V4l2Result<()> {
    v4l2r_call("MEDIA_REQUEST_IOC_REINIT", || req.reinit().or_else(request_errno))
}

#[cfg(test)]
mod tests {
    use super::*;
    fn ent(id: u32, function: u32) -> media_v2_entity {
        let mut name = [0u8; 64];
        name[..3].copy_from_slice(b"dec");
        media_v2_entity { id, name, function, flags: 0, reserved: [0; 5] }
    }
    fn intf(id: u32, minor: u32) -> media_v2_interface {
        let mut raw = [0u32; 16];
        raw[0] = 81;
        raw[1] = minor;
        media_v2_interface { id, intf_type: MEDIA_INTF_T_V4L_VIDEO, flags: 0, reserved: [0; 9], raw }
    }
    fn ilink(src: u32, sink: u32) -> media_v2_link {
        media_v2_link { id: 99, source_id: src, sink_id: sink, flags: MEDIA_LNK_FL_INTERFACE_LINK, reserved: [0; 6] }
    }

    #[test]
    fn finds_decoder_linked_directly() {
        let ents = [ent(1, 0x4008), ent(2, 0x10001)];
        let ifs = [intf(10, 3)];
        let d = decoders_of(&ents, &ifs, &[ilink(10, 1)]);
        assert_eq!(d, vec![DecoderEntity { name: "dec".into(), video_major: 81, video_minor: 3 }]);
    }

    #[test]
    fn finds_decoder_through_io_entities() {
        // v4l2-mem2mem's layout: the interface links to the source entity.
        let ents = [ent(1, 0x10001), ent(3, 0x4008), ent(5, 0x10001)];
        let ifs = [intf(12, 7)];
        let d = decoders_of(&ents, &ifs, &[ilink(12, 1), ilink(12, 5)]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].video_minor, 7);
    }

    #[test]
    fn no_decoder_no_result() {
        let ents = [ent(1, 0x10001)];
        let ifs = [intf(12, 7)];
        assert!(decoders_of(&ents, &ifs, &[ilink(12, 1)]).is_empty());
    }
}
