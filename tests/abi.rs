//! ABI probe: the Rust view of every struct, vtable slot and ioctl number
//! the driver uses must equal what a C compiler sees in the installed libva
//! headers and the 6.12 kernel uAPI headers. One table drives both sides:
//! it is turned into a C program, compiled with $CC (gcc) and run; its
//! output is compared line by line with the Rust values.
use hantro_drv_video::ffi::{v4l2 as k, va};
use hantro_drv_video::v4l2::{media, mmap};
use std::mem::{offset_of, size_of};
use std::process::Command;

struct Probe {
    c_lines: Vec<String>,
    rust: Vec<(String, u64)>,
}

impl Probe {
    fn new() -> Self {
        Probe { c_lines: Vec::new(), rust: Vec::new() }
    }
    fn size(&mut self, cty: &str, v: usize) {
        self.c_lines.push(format!("printf(\"sizeof {cty} %zu\\n\", sizeof({cty}));"));
        self.rust.push((format!("sizeof {cty}"), v as u64));
    }
    fn off(&mut self, cty: &str, field: &str, v: usize) {
        self.c_lines.push(format!("printf(\"offsetof {cty}.{field} %zu\\n\", offsetof({cty}, {field}));"));
        self.rust.push((format!("offsetof {cty}.{field}"), v as u64));
    }
    fn val(&mut self, name: &str, v: u64) {
        self.c_lines.push(format!("printf(\"value {name} %llu\\n\", (unsigned long long)({name}));"));
        self.rust.push((format!("value {name}"), v));
    }
}

/// `layout!(probe, RustType, "C type", [rust_field => "c_field", ...])`
macro_rules! layout {
    ($p:expr, $t:ty, $c:expr, [$($f:ident $(=> $cf:expr)?),* $(,)?]) => {{
        $p.size($c, size_of::<$t>());
        $( $p.off($c, layout!(@name $f $(, $cf)?), offset_of!($t, $f)); )*
    }};
    (@name $f:ident, $cf:expr) => { $cf };
    (@name $f:ident) => { stringify!($f) };
}

fn table() -> Probe {
    let mut p = Probe::new();
    layout!(
        p,
        va::VADriverContext,
        "struct VADriverContext",
        [
            pDriverData,
            vtable,
            vtable_glx,
            vtable_egl,
            vtable_tpi,
            native_dpy,
            x11_screen,
            version_major,
            version_minor,
            max_profiles,
            max_entrypoints,
            max_attributes,
            max_image_formats,
            max_subpic_formats,
            max_display_attributes,
            str_vendor,
            handle,
            drm_state,
            glx,
            display_type,
            vtable_wayland,
            vtable_vpp,
            override_driver_name,
            pDisplayContext,
            error_callback,
            info_callback,
            vtable_prot,
            reserved,
        ]
    );
    layout!(
        p,
        va::VADriverVTable,
        "struct VADriverVTable",
        [
            vaTerminate,
            vaQueryConfigProfiles,
            vaQueryConfigEntrypoints,
            vaGetConfigAttributes,
            vaCreateConfig,
            vaDestroyConfig,
            vaQueryConfigAttributes,
            vaCreateSurfaces,
            vaDestroySurfaces,
            vaCreateContext,
            vaDestroyContext,
            vaCreateBuffer,
            vaBufferSetNumElements,
            vaMapBuffer,
            vaUnmapBuffer,
            vaDestroyBuffer,
            vaBeginPicture,
            vaRenderPicture,
            vaEndPicture,
            vaSyncSurface,
            vaQuerySurfaceStatus,
            vaQuerySurfaceError,
            vaPutSurface,
            vaQueryImageFormats,
            vaCreateImage,
            vaDeriveImage,
            vaDestroyImage,
            vaSetImagePalette,
            vaGetImage,
            vaPutImage,
            vaQuerySubpictureFormats,
            vaCreateSubpicture,
            vaDestroySubpicture,
            vaSetSubpictureImage,
            vaSetSubpictureChromakey,
            vaSetSubpictureGlobalAlpha,
            vaAssociateSubpicture,
            vaDeassociateSubpicture,
            vaQueryDisplayAttributes,
            vaGetDisplayAttributes,
            vaSetDisplayAttributes,
            vaBufferInfo,
            vaLockSurface,
            vaUnlockSurface,
            vaGetSurfaceAttributes,
            vaCreateSurfaces2,
            vaQuerySurfaceAttributes,
            vaAcquireBufferHandle,
            vaReleaseBufferHandle,
            vaCreateMFContext,
            vaMFAddContext,
            vaMFReleaseContext,
            vaMFSubmit,
            vaCreateBuffer2,
            vaQueryProcessingRate,
            vaExportSurfaceHandle,
            vaSyncSurface2,
            vaSyncBuffer,
            vaCopy,
            reserved,
        ]
    );
    layout!(
        p,
        va::VAPictureParameterBufferH264,
        "VAPictureParameterBufferH264",
        [
            CurrPic,
            ReferenceFrames,
            picture_width_in_mbs_minus1,
            picture_height_in_mbs_minus1,
            bit_depth_luma_minus8,
            bit_depth_chroma_minus8,
            num_ref_frames,
            seq_fields,
            num_slice_groups_minus1,
            slice_group_map_type,
            slice_group_change_rate_minus1,
            pic_init_qp_minus26,
            pic_init_qs_minus26,
            chroma_qp_index_offset,
            second_chroma_qp_index_offset,
            pic_fields,
            frame_num,
        ]
    );
    layout!(p, va::VAPictureH264, "VAPictureH264", [picture_id, frame_idx, flags, TopFieldOrderCnt, BottomFieldOrderCnt]);
    layout!(
        p,
        va::VASliceParameterBufferH264,
        "VASliceParameterBufferH264",
        [
            slice_data_size,
            slice_data_offset,
            slice_data_flag,
            slice_data_bit_offset,
            first_mb_in_slice,
            slice_type,
            direct_spatial_mv_pred_flag,
            num_ref_idx_l0_active_minus1,
            num_ref_idx_l1_active_minus1,
            cabac_init_idc,
            slice_qp_delta,
            disable_deblocking_filter_idc,
            slice_alpha_c0_offset_div2,
            slice_beta_offset_div2,
            RefPicList0,
            RefPicList1,
            luma_log2_weight_denom,
            chroma_log2_weight_denom,
            luma_weight_l0_flag,
            luma_weight_l0,
            luma_offset_l0,
            chroma_weight_l0_flag,
            chroma_weight_l0,
            chroma_offset_l0,
            luma_weight_l1_flag,
            luma_weight_l1,
            luma_offset_l1,
            chroma_weight_l1_flag,
            chroma_weight_l1,
            chroma_offset_l1,
        ]
    );
    layout!(p, va::VAIQMatrixBufferH264, "VAIQMatrixBufferH264", [ScalingList4x4, ScalingList8x8]);
    layout!(p, va::VAImageFormat, "VAImageFormat", [fourcc, byte_order, bits_per_pixel, depth, red_mask, green_mask, blue_mask, alpha_mask]);
    layout!(
        p,
        va::VAImage,
        "VAImage",
        [image_id, format, buf, width, height, data_size, num_planes, pitches, offsets, num_palette_entries, entry_bytes, component_order]
    );
    layout!(p, va::VAConfigAttrib, "VAConfigAttrib", [type_ => "type", value]);
    layout!(p, va::VASurfaceAttrib, "VASurfaceAttrib", [type_ => "type", flags, value]);
    layout!(p, va::VAGenericValue, "VAGenericValue", [type_ => "type", value]);
    layout!(p, va::VASurfaceDecodeMBErrors, "VASurfaceDecodeMBErrors", [status, start_mb, end_mb, decode_error_type]);
    layout!(p, va::VADRMPRIMESurfaceDescriptor, "VADRMPRIMESurfaceDescriptor", [fourcc, width, height, num_objects, objects, num_layers, layers]);

    // Kernel uAPI: structs declared by hand in this crate.
    layout!(p, media::media_device_info, "struct media_device_info", [driver, model, serial, bus_info, media_version, hw_revision, driver_version, reserved]);
    layout!(
        p,
        media::media_v2_topology,
        "struct media_v2_topology",
        [topology_version, num_entities, ptr_entities, num_interfaces, ptr_interfaces, num_pads, ptr_pads, num_links, ptr_links]
    );
    layout!(p, media::media_v2_entity, "struct media_v2_entity", [id, name, function, flags, reserved]);
    layout!(p, media::media_v2_interface, "struct media_v2_interface", [id, intf_type, flags, reserved, raw => "devnode"]);
    layout!(p, media::media_v2_link, "struct media_v2_link", [id, source_id, sink_id, flags]);
    layout!(p, media::media_v2_pad, "struct media_v2_pad", [id, entity_id, flags, index]);
    layout!(p, mmap::dma_buf_sync, "struct dma_buf_sync", [flags]);
    // Kernel uAPI structs from v4l2r's bindings that the driver passes.
    layout!(p, k::v4l2_buffer, "struct v4l2_buffer", [index, type_ => "type", bytesused, flags, field, timestamp, sequence, memory, m, length]);
    layout!(p, k::v4l2_plane, "struct v4l2_plane", [bytesused, length, m, data_offset]);
    layout!(p, k::v4l2_format, "struct v4l2_format", [type_ => "type", fmt]);
    layout!(p, k::v4l2_ext_control, "struct v4l2_ext_control", [id, size]);
    layout!(p, k::v4l2_ext_controls, "struct v4l2_ext_controls", [count, error_idx, request_fd, controls]);
    layout!(p, k::v4l2_create_buffers, "struct v4l2_create_buffers", [index, count, memory, format, capabilities]);
    layout!(p, k::v4l2_ctrl_h264_sps, "struct v4l2_ctrl_h264_sps", [profile_idc, level_idc, max_num_ref_frames, pic_width_in_mbs_minus1, flags]);
    layout!(p, k::v4l2_ctrl_h264_pps, "struct v4l2_ctrl_h264_pps", [pic_parameter_set_id, flags]);
    layout!(
        p,
        k::v4l2_ctrl_h264_decode_params,
        "struct v4l2_ctrl_h264_decode_params",
        [dpb, nal_ref_idc, frame_num, dec_ref_pic_marking_bit_size, pic_order_cnt_bit_size, slice_group_change_cycle, flags]
    );
    layout!(
        p,
        k::v4l2_h264_dpb_entry,
        "struct v4l2_h264_dpb_entry",
        [reference_ts, pic_num, frame_num, fields, top_field_order_cnt, bottom_field_order_cnt, flags]
    );
    layout!(
        p,
        k::v4l2_ctrl_h264_slice_params,
        "struct v4l2_ctrl_h264_slice_params",
        [header_bit_size, first_mb_in_slice, slice_type, ref_pic_list0, ref_pic_list1, flags]
    );
    layout!(p, k::v4l2_ctrl_h264_pred_weights, "struct v4l2_ctrl_h264_pred_weights", [luma_log2_weight_denom, weight_factors]);
    layout!(p, k::v4l2_ctrl_h264_scaling_matrix, "struct v4l2_ctrl_h264_scaling_matrix", [scaling_list_4x4, scaling_list_8x8]);

    // ioctl numbers and constants written by hand in this crate (the V4L2
    // and media-request ioctls are v4l2r's, numbered from the bindings).
    for (name, v) in [
        ("MEDIA_IOC_DEVICE_INFO", media::MEDIA_IOC_DEVICE_INFO),
        ("MEDIA_IOC_G_TOPOLOGY", media::MEDIA_IOC_G_TOPOLOGY),
        ("DMA_BUF_IOCTL_SYNC", mmap::DMA_BUF_IOCTL_SYNC),
    ] {
        p.val(name, v);
    }
    p.val("MEDIA_ENT_F_PROC_VIDEO_DECODER", media::MEDIA_ENT_F_PROC_VIDEO_DECODER as u64);
    p.val("MEDIA_INTF_T_V4L_VIDEO", media::MEDIA_INTF_T_V4L_VIDEO as u64);
    p.val("MEDIA_LNK_FL_INTERFACE_LINK", media::MEDIA_LNK_FL_INTERFACE_LINK as u64);
    p.val("V4L2_PIX_FMT_H264_SLICE", hantro_drv_video::v4l2::formats::H264_SLICE as u64);
    p.val("V4L2_PIX_FMT_NV12", hantro_drv_video::v4l2::formats::NV12 as u64);
    p.val("V4L2_PIX_FMT_NV12_32L32", hantro_drv_video::v4l2::formats::NV12_32L32 as u64);
    p.val("V4L2_PIX_FMT_AV1_FRAME", hantro_drv_video::v4l2::formats::AV1_FRAME as u64);
    p.val("V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF", k::V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF as u64);
    p
}

fn uapi_include() -> String {
    std::env::var("HANTRO_UAPI_INCLUDE").unwrap_or_else(|_| format!("{}/target/uapi/include", env!("CARGO_MANIFEST_DIR")))
}

#[test]
fn rust_layouts_match_the_c_headers() {
    let p = table();
    let dir = std::env::temp_dir().join(format!("hantro-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("probe.c");
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include <va/va.h>\n#include <va/va_backend.h>\n\
         #include <va/va_drmcommon.h>\n#include <linux/videodev2.h>\n#include <linux/media.h>\n\
         #include <linux/dma-buf.h>\nint main(void) {\n",
    );
    for l in &p.c_lines {
        c.push_str("    ");
        c.push_str(l);
        c.push('\n');
    }
    c.push_str("    return 0;\n}\n");
    std::fs::write(&src, c).unwrap();
    let exe = dir.join("probe");
    // HANTRO_PROBE_CC / _RUNNER let the same test run cross (aarch64 +
    // qemu-user), with the target's headers.
    let cc = std::env::var("HANTRO_PROBE_CC").unwrap_or_else(|_| "gcc".into());
    let mut cmd = Command::new(&cc);
    cmd.arg("-o").arg(&exe).arg(&src).arg(format!("-I{}", uapi_include()));
    if let Ok(extra) = std::env::var("HANTRO_PROBE_CFLAGS") {
        cmd.args(extra.split_whitespace());
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(out.status.success(), "C probe failed to compile:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = match std::env::var("HANTRO_PROBE_RUNNER") {
        Ok(r) => Command::new(r).arg(&exe).output(),
        Err(_) => Command::new(&exe).output(),
    }
    .expect("run probe");
    assert!(run.status.success());
    let text = String::from_utf8(run.stdout).unwrap();
    let c_vals: std::collections::HashMap<String, u64> = text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect();
    let mut bad = Vec::new();
    for (key, rust) in &p.rust {
        match c_vals.get(key) {
            Some(c) if c == rust => {}
            Some(c) => bad.push(format!("{key}: C {c}, Rust {rust}")),
            None => bad.push(format!("{key}: missing from the C probe output")),
        }
    }
    assert!(bad.is_empty(), "ABI mismatches ({} of {} checks):\n{}", bad.len(), p.rust.len(), bad.join("\n"));
    assert!(p.rust.len() > 200, "the probe table shrank to {} checks", p.rust.len());
    eprintln!("{} layout checks against the C headers passed", p.rust.len());
    let _ = std::fs::remove_dir_all(&dir);
}
