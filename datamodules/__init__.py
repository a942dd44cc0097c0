"""LightningDataModules (installed as ``lightning_causal.datamodules``); each satisfies the data contract.

Every module here gives rows ``{variable: tensor}`` with their specs and statistics
(:class:`~lightning_causal.data.RowSource`: ``variables`` and ``rows(split)``), sets ``graph`` for the
model, and serves shuffled, resumable training batches:

* ``tensor_data.py``: :class:`TensorDataModule`, the base of the modules whose splits are in memory;
* ``scm_data.py``: :class:`SCMDataModule`, samples of a DCM-suite SCM that knows its exact answers;
* ``latent_scm_data.py``: :class:`LatentSCMDataModule`, samples of an SCM with latent confounders
  (continuous and mixed) that knows its exact interventional and conditional interventional answers;
* ``napkin_digits_data.py``: :class:`NapkinDigitsDataModule`, the napkin with coloured handwritten-digit
  images (W1, X, Y) whose exact interventional answers are known;
* ``tabular_data.py``: :class:`TabularDataModule`, a CSV/Parquet table with a graph YAML;
* ``streaming_data.py``: :class:`StreamingDataModule`, any shard dataset (``lightning-causal prepare``)
  streamed from a folder, a URL or an object store, never read whole into memory for training.

A new in-memory data source is a new ``<source>_data.py`` here that satisfies the same contract; a
large one is converted once by ``lightning-causal prepare`` (:mod:`lightning_causal.datamodules.sources`)
and streamed. The formats and loaders live in :mod:`lightning_causal.data`.
"""

from lightning_causal.datamodules.latent_scm_data import LatentSCMDataModule
from lightning_causal.datamodules.napkin_digits_data import NapkinDigitsDataModule
from lightning_causal.datamodules.scm_data import SCMDataModule
from lightning_causal.datamodules.streaming_data import StreamingDataModule
from lightning_causal.datamodules.tabular_data import TabularDataModule
from lightning_causal.datamodules.tensor_data import TensorDataModule

__all__ = [
    "LatentSCMDataModule",
    "NapkinDigitsDataModule",
    "SCMDataModule",
    "StreamingDataModule",
    "TabularDataModule",
    "TensorDataModule",
]
