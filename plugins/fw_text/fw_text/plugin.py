"""Entry point of the text plugin (group `fw.plugins`). Imports nothing heavy until a hook
runs."""
from framework.plugins import hookimpl, register_each

_DATASETS = ["AG_NEWS", "TextClassificationCSV", "LanguageModelingDataset", "TokenBlocks",
             "LanguageID"]
_MODELS = ["TextClassificationModel", "CharLSTM", "TransformerClassifier", "GPT"]


@hookimpl
def fw_register_datasets(register):
    from . import datasets
    register_each(register, datasets, _DATASETS, "text")


@hookimpl
def fw_register_transforms(register):
    # Tokenizers, vocabularies and collate helpers are the text pipeline's transforms.
    from . import tokenizers, utils, vocab
    register("basic_english", tokenizers.basic_english_normalize)
    register_each(register, tokenizers, ["CharTokenizer", "CharNGramTokenizer", "BPETokenizer"],
                  "text")
    register_each(register, vocab, ["Vocab", "build_vocab_from_iterator"], "text")
    register_each(register, utils, ["PadCollate", "BagCollate"], "text")


@hookimpl
def fw_register_models(register):
    from . import models
    register_each(register, models, _MODELS, "text")


@hookimpl
def fw_plugin_info():
    return {"description": "tokenizers (basic_english, char, BPE), Vocab, AG_NEWS-style CSV, "
                           "language modelling, token-block and LanguageID data sets, text models "
                           "(a GPT with a key/value cache among them)",
            "import": "from fw_text import tokenizers, vocab, datasets, models, utils"}
