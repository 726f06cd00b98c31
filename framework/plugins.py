"""Plugins: pluggy hookspecs, entry-point discovery with isolated failures, registries.

Two entry-point groups: `fw.backends` (devices, loaded on first device use) and
`fw.plugins` (domain plugins: datasets, transforms, models, loaded on first registry use).
fw's own backends and domain plugins are distributions like anyone else's, registered
through the same entry points; "built-in" means a distribution of fw's own project: the
core and those its metadata requires (the cpu device) or offers as extras (the rest).

Environment variables:
  FW_LOAD_PLUGINS=a,b    load only these plugins ('' = none but fw's own built-ins)
  FW_DISABLE_PLUGINS=a,b never load these (shown as 'disabled')
  FW_STRICT_PLUGINS=1    re-raise a plugin's load error instead of recording it
"""
import contextlib
import functools
import importlib.metadata as md
import os
import re
import sys
import threading

import pluggy

hookspec = pluggy.HookspecMarker("fw")
hookimpl = pluggy.HookimplMarker("fw")

BACKEND_GROUP = "fw.backends"
DOMAIN_GROUP = "fw.plugins"
GROUPS = {BACKEND_GROUP: "backend", DOMAIN_GROUP: "domain"}
OWN_DIST = "fw-framework"  # fw's own distribution: the one place that knows its name


def canonical(name):
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def own_requirements(extras=True):
    """Canonical names of the distributions fw's core requires, and (with `extras`) of those
    its extras name, read from its installed metadata."""
    try:
        reqs = md.requires(OWN_DIST) or []
    except md.PackageNotFoundError:  # a source tree that is not installed
        reqs = []
    return {canonical(re.match(r"[A-Za-z0-9._-]+", r).group())
            for r in reqs if extras or "extra" not in r}


@functools.lru_cache(maxsize=None)
def _first_party():
    return frozenset({canonical(OWN_DIST)} | own_requirements())


def is_builtin(dist):
    """Whether distribution `dist` is fw's own: the core, or one that the core's metadata
    names (its cpu device as a requirement; the other devices and domain plugins as extras).
    Found from the metadata, so the core names no backend."""
    return dist is not None and canonical(dist) in _first_party()


class Specs:
    """The hooks a plugin may implement. Arguments of a hookimpl must not have defaults:
    pluggy never passes those."""

    @hookspec
    def fw_register_backends(self, register):
        """Call `register(device_type, BackendClass)` for each device type provided."""

    @hookspec
    def fw_register_datasets(self, register):
        """Call `register(name, dataset_class_or_factory)`."""

    @hookspec
    def fw_register_transforms(self, register):
        """Call `register(name, transform_class)`."""

    @hookspec
    def fw_register_models(self, register):
        """Call `register(name, model_class_or_factory)`."""

    @hookspec
    def fw_register_commands(self, cli):
        """Add click commands to the `fw` command group."""

    @hookspec
    def fw_plugin_info(self):
        """Return a dict of extra metadata shown by `fw plugins list`."""


def register_each(register, module, names, prefix):
    """For a domain plugin's hooks: `register(name, getattr(module, name))` for each name.
    A name another plugin already holds is registered as 'prefix.name' instead, so one
    generic name (Compose, MLP) taken first elsewhere never stops the plugin loading."""
    for name in names:
        obj = getattr(module, name)
        try:
            register(name, obj)
        except NameClash:
            register(f"{prefix}.{name}", obj)


class PluginError(RuntimeError):
    """A plugin could not be used; `__cause__` holds the original error."""


class NameClash(PluginError):
    """Two plugins claim the same name (entry point, device type, dataset, ...)."""


class PluginRecord:
    """What `fw plugins list` shows about one plugin."""

    def __init__(self, name, kind, dist=None, version=None, module=None):
        self.name, self.kind, self.dist, self.version, self.module = name, kind, dist, version, module
        self.status, self.error, self.exception = "ok", None, None
        self.provides = []
        self.hooks = []
        self.info = {}

    @property
    def builtin(self):
        return is_builtin(self.dist)

    def fail(self, exc, status="failed"):
        """Record `exc`; whatever the plugin registered has been rolled back."""
        self.status, self.exception = status, exc
        self.provides = []
        if isinstance(exc, SystemExit):
            self.error = f"SystemExit: the plugin called sys.exit({exc.code!r})"
        else:
            self.error = f"{type(exc).__name__}: {exc}"

    def as_dict(self):
        return {"name": self.name, "kind": self.kind, "version": self.version, "dist": self.dist,
                "builtin": self.builtin, "status": self.status, "error": self.error,
                "hooks": sorted(self.hooks), "provides": list(self.provides), "module": self.module}


@contextlib.contextmanager
def plugin_code():
    """Around a plugin's own code: what it prints goes to stderr, so fw's stdout stays fw's
    (`fw plugins list --json` must stay valid JSON whatever a plugin prints at import)."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _env_list(name):
    value = os.environ.get(name)
    if value is None:
        return None
    return {x.strip() for x in value.split(",") if x.strip()}


class Registry:
    """The plugin manager plus what the plugins registered. One per process (`registry`);
    tests make their own."""

    def __init__(self, entry_points=None):
        self.pm = pluggy.PluginManager("fw")
        self.pm.add_hookspecs(Specs)
        self._entry_points = entry_points  # None: read the installed distributions
        self.records = {}
        self.backends = {}     # device type -> (BackendClass, plugin name)
        self.items = {"datasets": {}, "transforms": {}, "models": {}}  # name -> (obj, plugin)
        self._loaded = set()
        self._lock = threading.RLock()
        self._instances = {}

    # -- discovery -------------------------------------------------------------------------
    def _eps(self, group):
        if self._entry_points is not None:
            eps = [ep for ep in self._entry_points if ep.group == group]
        else:
            eps = list(md.entry_points(group=group))
        # fw's own plugins first, so a third-party one that reuses a name is the one reported.
        return sorted(eps, key=lambda ep: (not is_builtin(_dist_name(ep)), ep.name))

    def entry_points(self):
        """Every plugin entry point of both groups, read from the distributions' metadata
        without importing anything."""
        return [ep for group in GROUPS for ep in self._eps(group)]

    def load(self, group):
        with self._lock:
            if group in self._loaded:
                return
            self._loaded.add(group)
            only = _env_list("FW_LOAD_PLUGINS")
            blocked = _env_list("FW_DISABLE_PLUGINS") or set()
            strict = os.environ.get("FW_STRICT_PLUGINS", "") not in ("", "0")
            eps = self._eps(group)
            for ep in eps:
                self._load_one(ep, group, only, blocked, strict)
            if only and self._loaded >= set(GROUPS):
                seen = {ep.name for g in GROUPS for ep in self._eps(g)}
                seen |= {_dist_name(ep) for g in GROUPS for ep in self._eps(g)}
                for name in sorted(only - seen):
                    sys.stderr.write(f"fw: FW_LOAD_PLUGINS names '{name}', but no installed plugin "
                                     f"has that name\n")

    def _load_one(self, ep, group, only, blocked, strict):
        dist = _dist_name(ep)
        rec = PluginRecord(ep.name, GROUPS[group], dist, _dist_version(ep), ep.value)
        if ep.name in self.records:
            other = self.records[ep.name]
            rec.fail(NameClash(f"name clash: plugin name '{ep.name}' is already used by "
                               f"{_label(other)}; this one was not loaded"),
                     status="clash")
            self.records[f"{ep.name} ({dist})"] = rec
            _warn(rec)
            return
        self.records[ep.name] = rec
        names = {ep.name, dist} - {None}
        if names & blocked:
            rec.status, rec.error = "disabled", "disabled by FW_DISABLE_PLUGINS"
            return
        if only is not None and not is_builtin(dist) and not names & only:
            rec.status, rec.error = "disabled", "not named in FW_LOAD_PLUGINS"
            return
        try:
            with plugin_code():
                plugin = ep.load()
                self._register(rec, plugin)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # one broken plugin must never break fw, sys.exit() included
            self._roll_back(rec.name)
            rec.fail(exc, status="clash" if isinstance(exc, NameClash) else "failed")
            if strict:
                raise PluginError(f"plugin '{rec.name}' ({_label(rec)}) failed to load: "
                                  f"{rec.error}") from exc
            _warn(rec)

    def _register(self, rec, plugin):
        """Register `plugin` with pluggy, check its hooks, and run its registration hooks."""
        _check_unmarked(plugin, rec.name)
        self.pm.register(plugin, name=rec.name)
        impls = {}
        for caller in self.pm.get_hookcallers(plugin):
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                if caller.spec is None and not impl.optionalhook:
                    # pluggy only catches this in check_pending(); a typo would be ignored.
                    raise pluggy.PluginValidationError(
                        plugin, f"unknown hook '{caller.name}' in plugin '{rec.name}'; the hooks "
                                f"fw knows are: {', '.join(_spec_names())}")
                if impl.wrapper or impl.hookwrapper:
                    raise pluggy.PluginValidationError(
                        plugin, f"hook '{caller.name}' of plugin '{rec.name}' is a wrapper; "
                                f"fw's hooks take plain implementations only")
                if caller.spec is not None:
                    impls[caller.name] = impl
        rec.hooks = sorted(impls)
        if "fw_plugin_info" in impls:
            rec.info = _call(impls["fw_plugin_info"]) or {}
        if "fw_register_backends" in impls:
            _call(impls["fw_register_backends"],
                  register=lambda t, cls: self._add_backend(rec, t, cls))
        for kind in self.items:
            if f"fw_register_{kind}" in impls:
                _call(impls[f"fw_register_{kind}"],
                      register=lambda n, obj, kind=kind: self._add_item(rec, kind, n, obj))

    def _roll_back(self, plugin):
        """Unregister `plugin` and everything it registered."""
        if self.pm.has_plugin(plugin):
            self.pm.unregister(name=plugin)
        for t in [t for t, (_, p) in self.backends.items() if p == plugin]:
            del self.backends[t]
            for key in [k for k, be in self._instances.items() if be.device.type == t]:
                del self._instances[key]
        for table in self.items.values():
            for n in [n for n, (_, p) in table.items() if p == plugin]:
                del table[n]

    def _add_backend(self, rec, device_type, cls):
        from .device import Backend, device
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise TypeError(f"register('{device_type}', ...) expects a subclass of "
                            f"framework.device.Backend, got {cls!r}")
        if not isinstance(device_type, str) or device(device_type).index is not None:
            raise ValueError(f"a device type is a name like 'opencl', got {device_type!r}")
        if cls.type != device_type:
            # Backend.__init__ builds self.device from cls.type: a mismatch mislabels tensors.
            raise ValueError(f"{cls.__qualname__}.type is {cls.type!r} but it is registered as "
                             f"device type '{device_type}'; set `type = '{device_type}'` on the class")
        if device_type in self.backends:
            owner = self.backends[device_type][1]
            raise NameClash(f"device type '{device_type}' is already provided by plugin '{owner}'")
        self.backends[device_type] = (cls, rec.name)
        rec.provides.append(f"device:{device_type}")

    def _add_item(self, rec, kind, name, obj):
        table = self.items[kind]
        if name in table:
            raise NameClash(f"{kind[:-1]} '{name}' is already provided by plugin '{table[name][1]}'")
        table[name] = (obj, rec.name)
        rec.provides.append(f"{kind[:-1]}:{name}")

    def load_all(self):
        for group in GROUPS:
            self.load(group)

    def device_types(self):
        """The device types registered by backend plugins (loads them)."""
        self.load(BACKEND_GROUP)
        return sorted(self.backends)

    def add_commands(self, cli):
        """Run every loaded plugin's `fw_register_commands(cli)`. A plugin that fails, or
        replaces a command that is already there, is recorded as failed; the CLI goes on."""
        self.load_all()
        for rec in list(self.records.values()):
            plugin = self.pm.get_plugin(rec.name) if rec.status == "ok" else None
            impl = _impl_of(self.pm, plugin, "fw_register_commands")
            if impl is None:
                continue
            before = dict(cli.commands)
            try:
                with plugin_code():
                    _call(impl, cli=cli)
                replaced = [n for n, cmd in before.items() if cli.commands.get(n) is not cmd]
                if replaced:
                    raise NameClash(f"command(s) {', '.join(replaced)} already exist; "
                                      f"plugin '{rec.name}' may not replace them")
                rec.provides += [f"command:{n}" for n in cli.commands if n not in before]
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a failed plugin provides nothing: roll it all back
                cli.commands.clear()
                cli.commands.update(before)
                self._roll_back(rec.name)
                rec.fail(exc, status="clash" if isinstance(exc, NameClash) else "failed")
                _warn(rec)

    # -- devices ---------------------------------------------------------------------------
    def backend_class(self, device_type):
        self.load(BACKEND_GROUP)
        entry = self.backends.get(device_type)
        if entry is not None:
            return entry[0]
        # Say why: a backend plugin that failed or was disabled may be the one that provides it.
        broken = [r for r in self.records.values() if r.kind == "backend" and r.status != "ok"]
        for r in broken:
            # By convention a backend's entry point is named after its device type.
            if r.name == device_type:
                raise PluginError(f"device type '{device_type}' is unavailable: backend plugin "
                                  f"'{r.name}' ({_label(r)}) {_STATUS_WORDS[r.status]}: "
                                  f"{r.error}") from r.exception
        known = ", ".join(sorted(self.backends)) or "none"
        msg = (f"Expected one of the registered device types ({known}), got '{device_type}'. "
               f"Run 'fw plugins list' to see installed backends.")
        if broken:
            msg += " Backend plugins that are not loaded and may provide it: " + "; ".join(
                f"'{r.name}' ({_label(r)}) {r.status}: {r.error}" for r in broken)
            raise PluginError(msg) from (broken[0].exception if len(broken) == 1 else None)
        raise RuntimeError(msg)

    def backend(self, dev):
        """The Backend instance that serves device `dev` (a `device` or a string)."""
        be = self._instances.get(dev)
        if be is not None:
            return be
        from .device import device
        d = device(dev) if not isinstance(dev, device) else dev
        with self._lock:
            cls = self.backend_class(d.type)
            count = cls.device_count()
            if count == 0:
                raise RuntimeError(f"no '{d.type}' device is available: {unavailable_reason(cls)}")
            index = cls.default_device_index() if d.index is None else d.index
            key = (d.type, index)
            be = self._instances.get(key)
            if be is None:
                if index is not None and index >= count:
                    raise RuntimeError(f"device '{d}' does not exist: {d.type} has {count} device(s)")
                be = cls(index)
                self._instances[key] = be
            self._instances[dev] = be
            return be

    # -- domain registries -----------------------------------------------------------------
    def registry(self, kind):
        self.load(DOMAIN_GROUP)
        return {name: obj for name, (obj, _) in self.items[kind].items()}


def unavailable_reason(cls):
    """Why backend class `cls` has no device, in words, with what to install: the backend's
    own `unavailable_reason()` where it gives one."""
    reason = None
    try:
        reason = cls.unavailable_reason()
    except Exception as exc:  # a careless backend must not hide the real problem
        reason = f"{type(exc).__name__} while asking why: {exc}"
    return reason or f"the '{cls.type}' backend found no device on this machine"


def _dist_name(ep):
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None
    return dist.metadata.get("Name") if hasattr(dist.metadata, "get") else dist.metadata["Name"]


_STATUS_WORDS = {"failed": "failed to load", "clash": "was not loaded", "disabled": "is disabled"}


def _label(rec):
    return f"{rec.dist}-{rec.version}" if rec.dist and rec.version else (rec.dist or "no distribution")


def _call(impl, **kwargs):
    """Call a hookimpl as pluggy would: with the spec arguments it names, no others."""
    return impl.function(*(kwargs[name] for name in impl.argnames))


def _impl_of(pm, plugin, hook_name):
    if plugin is None:
        return None
    caller = getattr(pm.hook, hook_name)
    return next((i for i in caller.get_hookimpls() if i.plugin is plugin), None)


def _check_unmarked(plugin, name):
    """A function named like a hook but not marked with @hookimpl is ignored by pluggy;
    that is always a mistake, so say so."""
    for attr in _spec_names():
        fn = getattr(plugin, attr, None)
        if callable(fn) and not hasattr(fn, "fw_impl"):
            raise pluggy.PluginValidationError(
                plugin, f"plugin '{name}' defines {attr}() without the @hookimpl marker "
                        f"(from framework.plugins import hookimpl); pluggy would ignore it")


def _dist_version(ep):
    dist = getattr(ep, "dist", None)
    return dist.version if dist is not None else None


def _spec_names():
    return sorted(n for n in dir(Specs) if n.startswith("fw_"))


def _warn(rec):
    what = "was not loaded" if rec.status == "clash" else "failed to load"
    sys.stderr.write(f"fw: plugin '{rec.name}' ({_label(rec)}) {what}: {rec.error}; "
                     f"run 'fw plugins list' for details or set FW_DISABLE_PLUGINS={rec.name}\n")


registry = Registry()


def get_backend(dev):
    return registry.backend(dev)


# -- the domain registries by name, as torchvision.models.get_model ------------------------

def _lookup(kind, name):
    table = registry.registry(kind)
    if name in table:
        return table[name]
    import difflib
    close = difflib.get_close_matches(str(name), table, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else \
        f"registered: {', '.join(sorted(table)) or 'none'}"
    raise ValueError(f"no {kind[:-1]} named {name!r} is registered; {hint} (see 'fw {kind} list')")


def get_dataset(name, *args, **kwargs):
    """The data set a domain plugin registered as `name`, built with these arguments:
    `get_dataset("MNIST", root, train=False)`. ValueError for an unknown name."""
    return _lookup("datasets", name)(*args, **kwargs)


def get_model(name, *args, **kwargs):
    """The model registered as `name`, built with these arguments: `get_model("resnet18",
    num_classes=10)`, as torchvision.models.get_model."""
    return _lookup("models", name)(*args, **kwargs)


def get_transform(name, *args, **kwargs):
    """The transform registered as `name`, built with these arguments:
    `get_transform("Resize", 32)`."""
    return _lookup("transforms", name)(*args, **kwargs)


def list_datasets():
    """Names of every registered data set, sorted."""
    return sorted(registry.registry("datasets"))


def list_models():
    """Names of every registered model, sorted (torchvision.models.list_models)."""
    return sorted(registry.registry("models"))


def list_transforms():
    """Names of every registered transform, sorted."""
    return sorted(registry.registry("transforms"))
