"""Entry point (group `fw.plugins`): registers what this plugin provides. fw imports this
module only when a registry is first used, never on `import framework`."""
from framework.plugins import hookimpl


@hookimpl
def fw_register_datasets(register):
    from .data import TwoSpirals
    register("TwoSpirals", TwoSpirals)


@hookimpl
def fw_register_models(register):
    from .data import SpiralNet
    register("SpiralNet", SpiralNet)


@hookimpl
def fw_plugin_info():
    return {"homepage": "examples/third_party_domain_plugin in the fw repository"}
