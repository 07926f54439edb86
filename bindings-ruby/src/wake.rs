//! The continuation uniffi's async calls resume with, as a C function.
//!
//! uniffi's generated Ruby waits for an async call on a pipe and passes a Ruby
//! proc as the continuation, which writes one byte to it. The core wakes the
//! call from a tokio thread, and the ffi gem runs a Ruby proc called from a
//! thread that is not Ruby's through its callback dispatcher thread. After
//! `fork()` that thread is gone in the child but ffi (1.15, Debian 12's) still
//! believes it runs: the first async call in a forked Puma or Unicorn worker
//! would wait forever. lib/secretkit.rb therefore passes this function
//! instead, with the pipe's file descriptor as the handle: waking writes the
//! byte from the tokio thread itself, no Ruby code and no GVL involved (and
//! one thread hop less per read).

use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

/// Write `poll_code` to the pipe `fd` (the write end uniffi's Ruby side
/// waits on). The descriptor is borrowed, never closed here.
#[no_mangle]
pub extern "C" fn secretkit_ruby_wake(fd: u64, poll_code: i8) {
    let Ok(fd) = i32::try_from(fd) else {
        return;
    };
    // SAFETY: the Ruby side keeps the write end open until the byte of each
    // poll has been read (uniffi's poll loop), and ManuallyDrop never closes it.
    let mut pipe = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    let _ = pipe.write_all(&[poll_code as u8]);
}
