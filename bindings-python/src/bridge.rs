//! Core futures as asyncio awaitables, and the one rule that keeps tokio
//! threads from crashing the interpreter at exit.
//!
//! A miss runs on the tokio runtime and completes an `asyncio.Future` through
//! `loop.call_soon_threadsafe`; the Python objects (results, exceptions) are
//! built on the loop's own thread. `Pending` is the coroutine that drives
//! that future. A cache hit needs none of that: the memo answers with a done
//! `ReadyFuture` (`_ready.py`, awaited through CPython's fast path), the
//! core's hits and remembered errors with `Ready`, an awaitable that already
//! holds its answer. All are coroutines to asyncio (they have `send`,
//! `throw` and `close`), so `asyncio.run` and `create_task` take them.
//!
//! Exit: on CPython < 3.14 a foreign thread that runs Python code while the
//! interpreter finalizes is killed with `pthread_exit`, which unwinds through
//! Rust frames and aborts the process. So tokio threads enter Python only
//! through `attach_unless_closing`, and the `atexit` hook (`_shutdown`) closes
//! that gate and waits for the threads already inside to leave.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
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

/// In a forked child: the tokio threads `INSIDE` counted are the parent's and
/// do not exist here (left as is, the child's exit would wait two seconds
/// for them), and the child's interpreter is not finalizing.
pub fn after_fork_in_child() {
    INSIDE.store(0, SeqCst);
    CLOSING.store(false, SeqCst);
}

/// Registered with `atexit`: stop handing work to Python, and give threads
/// that are inside Python (completing a future) time to leave it.
#[pyfunction]
#[pyo3(name = "_shutdown")]
pub fn shutdown(py: Python<'_>) -> PyResult<()> {
    // The audit trail's last records reach the Python sinks through the
    // events thread: flushed before it stops.
    crate::audit::flush_all(py);
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

/// The work of one `*_async` call: a core future and how to deliver its result.
type Work = Pin<Box<dyn Future<Output = Deliver> + Send>>;

/// A coroutine for `fut` run on tokio. Called inside a running loop it
/// starts at once (so `a = get_async(x); b = get_async(y)` read in
/// parallel); otherwise on the first `send`, so `asyncio.run(get_async(x))`
/// works. Either way it is a coroutine to asyncio (`create_task`,
/// `asyncio.run`, `gather`), and cancelling stops the tokio task (a shared
/// backend read goes on for the other readers and lands in the cache).
pub fn awaitable<'py, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Deliver> + Send + 'static,
{
    let work: Work = Box::pin(fut);
    let loop_now = running_loop(py)?.call0()?;
    let stage = if loop_now.is_none() {
        Stage::Waiting(work)
    } else {
        Stage::Running {
            future: start(py, &loop_now, work)?,
            iter: None,
        }
    };
    let pending = Pending {
        stage: Mutex::new(stage),
    };
    Ok(Bound::new(py, pending)?.into_any())
}

/// Spawn `work` on tokio; the `asyncio.Future` it completes on `event_loop`.
fn start(py: Python<'_>, event_loop: &Bound<'_, PyAny>, work: Work) -> PyResult<Py<PyAny>> {
    let rt = runtime().map_err(to_py)?;
    let py_future = event_loop.call_method0("create_future")?;
    let (loop_ref, future_ref) = (event_loop.clone().unbind(), py_future.clone().unbind());
    let task = rt.spawn(async move {
        let deliver = work.await;
        attach_unless_closing(move |py| complete(py, loop_ref, future_ref, deliver));
    });
    let abort = task.abort_handle();
    let on_done =
        PyCFunction::new_closure(py, None, None, move |_args: &Bound<'_, PyTuple>, _| {
            // A no-op once the task has finished; stops the wait on cancellation.
            abort.abort();
        })?;
    py_future.call_method1("add_done_callback", (on_done,))?;
    Ok(py_future.unbind())
}

enum Stage {
    /// Made outside a running loop: starts on the first `send`.
    Waiting(Work),
    /// Under way on tokio; `iter` is the asyncio future's `__await__` iterator
    /// once someone awaits.
    Running {
        future: Py<PyAny>,
        iter: Option<Py<PyAny>>,
    },
    Finished,
}

/// The coroutine `awaitable` returns. It drives the asyncio future its work
/// completes, so the awaiting task sleeps on that future like on any other.
#[pyclass(frozen, module = "secretkit")]
pub struct Pending {
    stage: Mutex<Stage>,
}

impl Pending {
    /// Take the stage out: no lock is held while Python code runs (another
    /// thread could take the GIL meanwhile and try to step this coroutine).
    fn take(&self) -> Stage {
        std::mem::replace(
            &mut *self.stage.lock().unwrap_or_else(|p| p.into_inner()),
            Stage::Finished,
        )
    }

    fn put(&self, stage: Stage) {
        *self.stage.lock().unwrap_or_else(|p| p.into_inner()) = stage;
    }

    /// The asyncio future and its iterator, starting the work if needed.
    fn running(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
        let (future, iter) = match self.take() {
            Stage::Waiting(work) => {
                let event_loop = get_running_loop(py)?.call0()?;
                (start(py, &event_loop, work)?, None)
            }
            Stage::Running { future, iter } => (future, iter),
            Stage::Finished => {
                return Err(PyRuntimeError::new_err(
                    "cannot reuse an already awaited secretkit coroutine",
                ))
            }
        };
        let iter = match iter {
            Some(iter) => iter,
            None => match future.call_method0(py, "__await__") {
                Ok(iter) => iter,
                Err(e) => {
                    cancel(py, &future);
                    return Err(e);
                }
            },
        };
        self.put(Stage::Running {
            future: future.clone_ref(py),
            iter: Some(iter.clone_ref(py)),
        });
        Ok((future, iter))
    }

    /// One step of the asyncio future's iterator; when it ends (result or
    /// error) so does this coroutine.
    fn step(
        &self,
        py: Python<'_>,
        call: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (future, iter) = self.running(py)?;
        let stepped = call(iter.bind(py));
        if stepped.is_err() {
            self.put(Stage::Finished);
            cancel(py, &future); // a no-op when it completed
        }
        stepped
    }
}

/// Cancel an asyncio future (which aborts its tokio task); errors ignored:
/// the loop may be closed already.
fn cancel(py: Python<'_>, future: &Py<PyAny>) {
    drop(future.call_method0(py, "cancel"));
}

#[pymethods]
impl Pending {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.step(py, |iter| iter.call_method0("__next__").map(Bound::unbind))
    }

    fn send(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.step(py, |iter| {
            iter.call_method1("send", (value,)).map(Bound::unbind)
        })
    }

    #[pyo3(signature = (kind, value=None, traceback=None))]
    fn throw(
        &self,
        py: Python<'_>,
        kind: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let idle = matches!(
            *self.stage.lock().unwrap_or_else(|p| p.into_inner()),
            Stage::Waiting(_) | Stage::Finished
        );
        if idle {
            // Nothing under way: the exception ends it here.
            drop(self.take());
            return Err(thrown(kind, value));
        }
        self.step(py, |iter| {
            // The one-argument form: the three-argument one is deprecated.
            match (value, traceback) {
                (None, None) => iter.call_method1("throw", (kind,)),
                _ => iter.call_method1("throw", (kind, value, traceback)),
            }
            .map(Bound::unbind)
        })
    }

    /// Stop the work: nobody will await the result.
    fn close(&self, py: Python<'_>) {
        if let Stage::Running { future, .. } = self.take() {
            cancel(py, &future);
        }
    }
}

/// The exception `throw(kind, value)` asks for.
fn thrown(kind: &Bound<'_, PyAny>, value: Option<&Bound<'_, PyAny>>) -> PyErr {
    match value {
        Some(v) if !v.is_none() => PyErr::from_value(v.clone()),
        _ => PyErr::from_value(kind.clone()),
    }
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

/// A done `secretkit._ready.ReadyFuture` holding `value`: what a
/// `get_async` hit the memo answers returns (see `_ready.py`).
pub fn ready_future(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    static READY_FUTURE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let class = READY_FUTURE.import(py, "secretkit._ready", "ReadyFuture")?;
    Ok(class.call1((value,))?.unbind())
}

/// `asyncio._get_running_loop`: the running loop or None, without raising.
fn running_loop(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    RUNNING_LOOP.import(py, "asyncio", "_get_running_loop")
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
        thrown(kind, value)
    }

    fn close(&self) {}
}
