//! The continuation uniffi's async calls resume with, as C functions.
//!
//! uniffi's generated Ruby waits for an async call on a pipe and passes a Ruby
//! proc as the continuation, which writes one byte to it. The core wakes the
//! call from a tokio thread, and the ffi gem runs a Ruby proc called from a
//! thread that is not Ruby's through its callback dispatcher thread. After
//! `fork()` that thread is gone in the child but ffi (1.15, Debian 12's) still
//! believes it runs: the first async call in a forked Puma or Unicorn worker
//! would wait forever. lib/secretkit.rb therefore passes `secretkit_ruby_wake`
//! instead: waking writes the byte from the tokio thread itself, no Ruby code
//! and no GVL involved (and one thread hop less per read).
//!
//! The handle is not the pipe's descriptor itself: a wake can come after the
//! Ruby side gave up on the call (a `Timeout` cancels it while the core is
//! already waking it) and closed the pipe, and that descriptor number may by
//! then belong to a socket or a file. Each call registers a duplicate of the
//! write end here (`secretkit_ruby_pipe_open`) and removes it when done
//! (`secretkit_ruby_pipe_close`); a wake for a removed handle writes nowhere.
//!
//! A tokio thread may hold the registry's lock at the moment of a fork, and
//! the child would then wait for it forever: the child starts a new registry
//! (`secretkit_ruby_after_fork`, called by the Ruby fork hook) and leaks the
//! parent's. Registries are never freed, so a reference to one stays valid.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::BorrowedFd;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

type Registry = Mutex<HashMap<u64, File>>;

/// This process's registry (null until first used).
static PIPES: AtomicPtr<Registry> = AtomicPtr::new(null_mut());
static NEXT: AtomicU64 = AtomicU64::new(1);

fn new_registry() -> *mut Registry {
    Box::into_raw(Box::new(Mutex::new(HashMap::new())))
}

fn pipes() -> MutexGuard<'static, HashMap<u64, File>> {
    let mut current = PIPES.load(Ordering::Acquire);
    if current.is_null() {
        let fresh = new_registry();
        current =
            match PIPES.compare_exchange(null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => fresh,
                Err(existing) => {
                    // SAFETY: `fresh` was never shared.
                    drop(unsafe { Box::from_raw(fresh) });
                    existing
                }
            };
    }
    // SAFETY: registries are leaked, never freed: the pointer stays valid.
    let registry: &'static Registry = unsafe { &*current };
    registry.lock().unwrap_or_else(|p| p.into_inner())
}

/// In a forked child: a new, empty registry (the parent's lock may be held
/// by a thread that does not exist here).
#[no_mangle]
pub extern "C" fn secretkit_ruby_after_fork() {
    PIPES.store(new_registry(), Ordering::Release);
}

/// Register (a duplicate of) the write end `fd`; the handle for the wake, or
/// 0 when it cannot be duplicated (the Ruby side then raises).
#[no_mangle]
pub extern "C" fn secretkit_ruby_pipe_open(fd: i32) -> u64 {
    if fd < 0 {
        return 0;
    }
    // SAFETY: the Ruby side passes the descriptor of a pipe it holds open
    // for the length of this call; it is only borrowed to duplicate it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let Ok(owned) = borrowed.try_clone_to_owned() else {
        return 0;
    };
    let handle = NEXT.fetch_add(1, Ordering::Relaxed);
    pipes().insert(handle, File::from(owned));
    handle
}

/// Forget `handle`, closing its duplicate; later wakes for it write nowhere.
#[no_mangle]
pub extern "C" fn secretkit_ruby_pipe_close(handle: u64) {
    let removed = pipes().remove(&handle);
    drop(removed);
}

/// Write `poll_code` to the pipe registered as `handle`, if it still is. A
/// pipe holds the one byte of each poll without blocking.
#[no_mangle]
pub extern "C" fn secretkit_ruby_wake(handle: u64, poll_code: i8) {
    if let Some(mut pipe) = pipes().get(&handle) {
        let _ = pipe.write_all(&[poll_code as u8]);
    }
}
