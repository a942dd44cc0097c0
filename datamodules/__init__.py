"""LightningDataModules (installed as ``lightning_causal.datamodules``).

* ``scm.py``: :class:`SCMDataModule`, samples of a DCM-suite SCM that knows its exact answers;
* ``latent_scm.py``: :class:`LatentSCMDataModule`, samples of an SCM with latent confounders
  (continuous and mixed) that knows its exact interventional and conditional interventional answers;
* ``napkin_digits.py``: :class:`NapkinDigitsDataModule`, the napkin with coloured handwritten-digit
  images (W1, X, Y) whose exact interventional answers are known;
* ``tabular.py``: :class:`TabularDataModule`, a CSV/Parquet table with a graph YAML;
* ``shards.py``: datasets as webdataset shards with a manifest (ID-GEN's generated datasets);
* ``tensor_dataset.py``: the batch-fetching dict-of-tensors dataset, its resumable loader, and
  :class:`TensorDataModule`, the base of the data modules whose splits are in memory.

A new data source (webdataset shards, CelebA, MIMIC-CXR) is a new module here that yields dicts
``{variable: tensor}`` and sets ``graph`` and ``variables`` for the model.
"""
