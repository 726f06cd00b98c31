"""Reading a checkpoint's bytes, naming the file in errors, and atomic writes."""
import os
import tempfile
import time

# Temp files are named ".<target>.fwsave-<pid>-<random>.tmp" so that a save killed before its
# rename (kill -9, power loss) leaves a file the next save into the same directory recognises
# and removes: its process is gone, or it is older than a day.
_TAG = ".fwsave-"
_STALE_AFTER_S = 24 * 3600


def describe(f):
    if isinstance(f, (str, os.PathLike)):
        return f"'{os.fspath(f)}'"
    name = getattr(f, "name", None)
    return f"'{name}'" if isinstance(name, str) else f"the {type(f).__name__} given"


def read_bytes(f, where):
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return fh.read()
    if hasattr(f, "read"):
        data = f.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"fw.load: {where} must be opened in binary mode")
        return bytes(data)
    raise TypeError(f"fw.load: f must be a path or a readable binary file, got {type(f).__name__}")


def write(f, data):
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(f, data)
    elif hasattr(f, "write"):
        f.write(data)
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise TypeError(f"fw.save: f must be a path or a writable binary file, got "
                        f"{type(f).__name__}")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's live process
        return True
    return True


def remove_stale_temps(directory, base):
    """Remove temp files that earlier saves of `base` left behind when they were killed."""
    prefix = "." + base + _TAG
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].split("-", 1)[0]
        path = os.path.join(directory, name)
        try:
            old = time.time() - os.stat(path).st_mtime > _STALE_AFTER_S
            if old or (pid.isdigit() and not _pid_alive(int(pid))):
                os.unlink(path)
        except OSError:
            pass  # gone already, or not ours to remove


def _atomic_write(path, data):
    """Write to a temp file beside `path`, fsync it, then rename over `path`: a reader (or a
    crash) sees the old file or the new one, never a partial one."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    if not os.path.isdir(directory):
        # PyTorch's type and wording; the temp file's name would only confuse
        raise RuntimeError(f"fw.save: can't save to '{path}': parent directory {directory} "
                           "does not exist.")
    remove_stale_temps(directory, base)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}{_TAG}{os.getpid()}-",
                                   suffix=".tmp")
    except OSError as e:
        raise type(e)(e.errno, f"fw.save: can't write '{path}': {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:  # mkstemp makes 0600 files; give the file the mode a plain open() would
            mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o666 & ~_umask()
            os.chmod(tmp, mode)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (best effort: not every platform can fsync a dir)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
