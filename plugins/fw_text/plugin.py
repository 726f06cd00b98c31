"""Entry point of the text plugin (group `fw.plugins`). The hooks import the plugin's modules
only when called, so loading the entry point stays cheap."""
from framework.plugins import hookimpl, register_each


@hookimpl
def fw_register_datasets(register):
    from . import datasets
    register_each(register, datasets, ("AG_NEWS", "TextClassificationCSV",
                                       "LanguageModelingDataset", "LanguageID"), "text")


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
    register_each(register, models, ("TextClassificationModel", "CharLSTM",
                                     "TransformerClassifier"), "text")


@hookimpl
def fw_plugin_info():
    return {"domain": "text", "summary": "tokenizers (basic_english, char, BPE), Vocab, "
            "AG_NEWS-style CSV, language modelling and LanguageID data sets, text models"}
