//! Core futures as asyncio awaitables, and the one rule that keeps tokio
//! threads from crashing the interpreter at exit.
//!
//! A miss runs on the tokio runtime and completes an `asyncio.Future` through
//! `loop.call_soon_threadsafe`; the Python objects (results, exceptions) are
//! built on the loop's own thread. A cache hit needs none of that: `Ready` is
//! an awaitable that already holds its answer.
//!
//! Exit: on CPython < 3.14 a foreign thread that runs Python code while the
//! interpreter finalizes is killed with `pthread_exit`, which unwinds through
//! Rust frames and aborts the process. So tokio threads enter Python only
//! through `attach_unless_closing`, and the `atexit` hook (`_shutdown`) closes
//! that gate and waits for the threads already inside to leave.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyTuple};

use crate::errors::to_py;
use crate::runtime;

static CLOSING: AtomicBool = AtomicBool::new(false);
static INSIDE: AtomicUsize = AtomicUsize::new(0);

/// Run `f` with the GIL from a non-Python thread, unless the interpreter is
/// shutting down (then the work is dropped: nobody is left to receive it).
pub fn attach_unless_closing<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    INSIDE.fetch_add(1, SeqCst);
    let result = if CLOSING.load(SeqCst) {
        None
    } else {
        Some(Python::attach(f))
    };
    INSIDE.fetch_sub(1, SeqCst);
    result
}

pub fn closing() -> bool {
    CLOSING.load(SeqCst)
}

/// Registered with `atexit`: stop handing work to Python, and give threads
/// that are inside Python (completing a future) time to leave it.
#[pyfunction]
#[pyo3(name = "_shutdown")]
pub fn shutdown(py: Python<'_>) -> PyResult<()> {
    CLOSING.store(true, SeqCst);
    crate::events::stop_dispatcher(py)?;
    let deadline = Instant::now() + Duration::from_secs(2);
    py.detach(|| {
        while INSIDE.load(SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    Ok(())
}

/// What a finished core future hands to the loop thread: builds the result
/// (or the exception) there, with the GIL.
pub type Deliver = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// An `asyncio.Future` on the running loop, completed by `fut` run on tokio.
/// Cancelling the asyncio future aborts the tokio task (a shared backend read
/// goes on for the other readers and lands in the cache).
pub fn awaitable<'py, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Deliver> + Send + 'static,
{
    let rt = runtime().map_err(to_py)?;
    let event_loop = get_running_loop(py)?.call0()?;
    let py_future = event_loop.call_method0("create_future")?;
    let (loop_ref, future_ref) = (event_loop.unbind(), py_future.clone().unbind());
    let task = rt.spawn(async move {
        let deliver = fut.await;
        attach_unless_closing(move |py| complete(py, loop_ref, future_ref, deliver));
    });
    let abort = task.abort_handle();
    let on_done =
        PyCFunction::new_closure(py, None, None, move |_args: &Bound<'_, PyTuple>, _| {
            // A no-op once the task has finished; stops the wait on cancellation.
            abort.abort();
        })?;
    py_future.call_method1("add_done_callback", (on_done,))?;
    Ok(py_future)
}

/// On a tokio thread, with the GIL: schedule the result on the loop thread.
fn complete(py: Python<'_>, event_loop: Py<PyAny>, future: Py<PyAny>, deliver: Deliver) {
    let deliver = Mutex::new(Some(deliver));
    let resolve = PyCFunction::new_closure(py, None, None, move |args: &Bound<'_, PyTuple>, _| {
        let future = args.get_item(0)?;
        let Some(deliver) = deliver.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(());
        };
        if future.call_method0("done")?.is_truthy()? {
            return Ok(()); // cancelled meanwhile
        }
        match deliver(args.py()) {
            Ok(value) => future.call_method1("set_result", (value,)),
            Err(e) => future.call_method1("set_exception", (e.into_value(args.py()),)),
        }
        .map(drop)
    });
    let scheduled = resolve
        .and_then(|resolve| event_loop.call_method1(py, "call_soon_threadsafe", (resolve, future)));
    // Err: the loop is closed; nobody awaits the result any more.
    drop(scheduled);
}

fn get_running_loop(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    GET_RUNNING_LOOP.import(py, "asyncio", "get_running_loop")
}

/// An awaitable that is already complete: `await` gives its value (or raises
/// its error) without suspending, so a cache hit costs no event-loop turn.
#[pyclass(frozen, module = "secretkit")]
pub struct Ready {
    value: Py<PyAny>,
    error: Option<PyErr>,
}

impl Ready {
    pub fn value(value: Py<PyAny>) -> Self {
        Ready { value, error: None }
    }

    pub fn error(py: Python<'_>, error: PyErr) -> Self {
        Ready {
            value: py.None(),
            error: Some(error),
        }
    }

    fn finish(&self, py: Python<'_>) -> PyErr {
        match &self.error {
            Some(e) => e.clone_ref(py),
            // A non-tuple value passes through StopIteration unwrapped.
            None => PyStopIteration::new_err(self.value.clone_ref(py)),
        }
    }
}

#[pymethods]
impl Ready {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<()> {
        Err(self.finish(py))
    }

    fn send(&self, py: Python<'_>, _value: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(self.finish(py))
    }

    #[pyo3(signature = (kind, value=None, _traceback=None))]
    fn throw(
        &self,
        kind: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyErr {
        match value {
            Some(v) if !v.is_none() => PyErr::from_value(v.clone()),
            _ => PyErr::from_value(kind.clone()),
        }
    }

    fn close(&self) {}
}
