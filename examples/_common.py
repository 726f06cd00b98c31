"""What the examples share: the checkpoint round trip each one checks, and headless plots.
Imported as `from _common import ...`, which works because Python puts a script's own
folder on sys.path (`python examples/x.py`)."""
import framework as fw


def save_and_reload(model, make_model, path, device):
    """Save `model`'s weights to `path` (safetensors) and load them into a fresh
    `make_model()` on `device`: the reloaded model must score as the trained one did."""
    fw.save(model.state_dict(), path)
    fresh = make_model().to(device)
    fresh.load_state_dict(fw.load(path, map_location=device))
    return fresh


def subplots(ncols=2, figsize=(9, 3.5)):
    """A figure with `ncols` axes side by side, drawn without a display (Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(1, ncols, figsize=figsize)


def save_figure(fig, path, title=None):
    import matplotlib.pyplot as plt
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_epochs(path, panels):
    """One panel per (title, values per epoch) pair, epochs 1, 2, ... on the x axis."""
    fig, axes = subplots(len(panels))
    for ax, (title, values) in zip(axes, panels):
        epochs = range(1, len(values) + 1)
        ax.plot(epochs, values, marker="o")
        ax.set(xlabel="epoch", title=title, xticks=list(epochs))
    return save_figure(fig, path)
