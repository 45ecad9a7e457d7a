"""Where a sweep's runs execute: a pool of local worker processes, or the workers of a Dask cluster.

    pool = LocalPool(4, say=print)         # or DaskPool("tcp://HOST:8786")
    for config, result in pool.map_unordered(configs, "/abs/store", wait=False):
        ...                                 # result: (run_id, outcome) from store.run_once, or a RunError
    pool.close()

Each task is store.run_once on one core. A local worker that dies (the OOM killer, kill -9) loses only the
run it held: the worker is replaced and that run retried, up to LOST_RETRIES times, while the other workers
carry on; runs not yet handed to a worker wait in the queue and are never touched. On Dask the scheduler
reruns a lost worker's task elsewhere, and the new run's claim takes over the dead worker's lock.
"""
import collections
import contextlib
import os
import signal

from rnnbench import store
from rnnbench.errors import InputError

LOST_RETRIES = 2       # a run whose worker died is retried this often, then recorded as failed
# one run uses one core, so N workers use N cores (read by BLAS and Numba when a worker process starts)
_ONE_THREAD_ENV = {k: "1" for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                    "MKL_NUM_THREADS")}


class RunError(Exception):
    """A task ended without an outcome: its worker died, or the store refused it (the message says which)."""


def _work(config, store_root, wait):
    """One task on a worker: run_once on one core (Numba and BLAS threads) -> (run_id, outcome)."""
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(1)
    with threadpool_limits(1):
        return store.run_once(config, store_root, wait=wait)


def _serve(conn):
    """A local worker process: run the tasks sent over conn, one at a time, until None or a closed pipe."""
    try:
        while True:
            try:
                task = conn.recv()
            except EOFError:
                return
            if task is None:
                return
            try:
                result = _work(*task)
            except Exception as e:
                result = RunError(f"{type(e).__name__}: {e}")
            conn.send(result)
    except KeyboardInterrupt:      # Ctrl-C reaches the whole process group; the sweep reports it
        return


@contextlib.contextmanager
def _env(values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _death(exitcode):
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {-exitcode} ({signal.Signals(-exitcode).name})"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


class _Worker:
    """One spawned worker process (Numba and threads do not survive fork) and the pipe to it."""

    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        with _env(_ONE_THREAD_ENV):      # read by BLAS and Numba as the process starts
            self.process = ctx.Process(target=_serve, args=(child,), daemon=True, name="rnnbench worker")
            self.process.start()
        child.close()
        self.task = None                 # (config, tries) while it runs one

    def result(self):
        """The finished task's result, or None when the process died without sending one."""
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            return None

    def stop(self, terminate=False):
        if not terminate:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.conn.close()


class LocalPool:
    """`workers` local processes, started as tasks need them and replaced when one dies."""

    def __init__(self, workers, say=None):
        import multiprocessing

        self.size, self.say = workers, say or (lambda line: None)
        self.ctx = multiprocessing.get_context("spawn")
        self.idle, self.busy = [], []

    def map_unordered(self, configs, store_root, wait):
        from multiprocessing.connection import wait as wait_any

        queue = collections.deque((config, 0) for config in configs)
        while queue or self.busy:
            while queue and (self.idle or len(self.idle) + len(self.busy) < self.size):
                worker = self.idle.pop() if self.idle else _Worker(self.ctx)
                worker.task = queue.popleft()
                try:
                    worker.conn.send((worker.task[0], store_root, wait))
                except OSError:
                    pass                 # it died already: found below like any other dead worker
                self.busy.append(worker)
            wait_any([w.conn for w in self.busy] + [w.process.sentinel for w in self.busy])
            for worker in list(self.busy):
                if not worker.conn.poll() and worker.process.is_alive():
                    continue
                result = worker.result() if worker.conn.poll() else None
                self.busy.remove(worker)
                (config, tries), worker.task = worker.task, None
                if result is not None:
                    self.idle.append(worker)
                    yield config, result
                    continue
                worker.stop(terminate=True)
                death = f"its worker process (pid {worker.process.pid}) {_death(worker.process.exitcode)}"
                rid = store.run_id(config)
                if tries < LOST_RETRIES:
                    self.say(f"sweep: run {rid}: {death}; a new worker retries it")
                    queue.appendleft((config, tries + 1))
                else:
                    yield config, RunError(f"{death}, {tries + 1} times")

    def close(self):
        for worker in self.idle:
            worker.stop()
        for worker in self.busy:
            worker.stop(terminate=True)
        self.idle, self.busy = [], []


class DaskPool:
    """A dask.distributed client."""

    def __init__(self, address):
        try:
            from distributed import Client
        except ImportError:
            raise InputError("--scheduler needs dask.distributed: pip install 'rnnbench[dask]'") from None
        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(f"cannot connect to the Dask scheduler at {address}: {e}") from None

    def map_unordered(self, configs, store_root, wait):
        from distributed import as_completed

        futures = {self.client.submit(_work, c, store_root, wait, pure=False): c for c in configs}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as e:      # a task lost on every worker it was tried on, or a store error
                result = RunError(f"{type(e).__name__}: {e}")
            yield futures[future], result

    def close(self):
        self.client.close()
