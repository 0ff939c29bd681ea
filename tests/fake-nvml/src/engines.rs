//! The media engines: encoder, decoder, JPEG and optical-flow utilization over their sampling
//! period, and the encoder's sessions.

use std::ffi::c_uint;

use crate::abi::*;
use crate::plumbing::{both, reply, with_gpu, write};

/// Encoder sessions now, and their average frame rate and latency (µs).
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetEncoderStats(
    dev: nvmlDevice_t,
    sessions: *mut c_uint,
    fps: *mut c_uint,
    latency: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.encoder_stats(), |[n, f, l]| {
            both(write(sessions, n), both(write(fps, f), write(latency, l)))
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetEncoderUtilization(
    dev: nvmlDevice_t,
    out: *mut c_uint,
    period_us: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| {
        reply(g.encoder(t), |v| both(write(out, v), write(period_us, 1_000_000 as c_uint)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetDecoderUtilization(
    dev: nvmlDevice_t,
    out: *mut c_uint,
    period_us: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| {
        reply(g.decoder(t), |v| both(write(out, v), write(period_us, 1_000_000 as c_uint)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetJpgUtilization(
    dev: nvmlDevice_t,
    out: *mut c_uint,
    period_us: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| {
        reply(g.jpeg(t), |v| both(write(out, v), write(period_us, 1_000_000 as c_uint)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetOfaUtilization(
    dev: nvmlDevice_t,
    out: *mut c_uint,
    period_us: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| {
        reply(g.ofa(t), |v| both(write(out, v), write(period_us, 1_000_000 as c_uint)))
    })
}
