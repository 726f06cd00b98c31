"""Entry point of the text plugin (group `fw.plugins`). The hooks import the plugin's modules
only when called, so loading the entry point stays cheap."""
from framework.plugins import hookimpl


@hookimpl
def fw_register_datasets(register):
    from . import datasets
    for name in ("AG_NEWS", "TextClassificationCSV", "LanguageModelingDataset", "LanguageID"):
        register(name, getattr(datasets, name))


@hookimpl
def fw_register_transforms(register):
    # Tokenizers and vocabularies are the text pipeline's transforms.
    from . import tokenizers, utils, vocab
    register("basic_english", tokenizers.basic_english_normalize)
    for name in ("CharTokenizer", "CharNGramTokenizer", "BPETokenizer"):
        register(name, getattr(tokenizers, name))
    register("Vocab", vocab.Vocab)
    register("build_vocab_from_iterator", vocab.build_vocab_from_iterator)
    register("PadCollate", utils.PadCollate)
    register("BagCollate", utils.BagCollate)


@hookimpl
def fw_register_models(register):
    from . import models
    for name in ("TextClassificationModel", "CharLSTM", "TransformerClassifier"):
        register(name, getattr(models, name))


@hookimpl
def fw_plugin_info():
    return {"domain": "text", "summary": "tokenizers (basic_english, char, BPE), Vocab, "
            "AG_NEWS-style CSV, language modelling and LanguageID data sets, text models"}
