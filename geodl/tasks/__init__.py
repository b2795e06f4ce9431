"""Tasks: one plain training loop, the tasks it trains, metrics, splits and checkpoints.

- :func:`fit` trains any :class:`Task` and returns a :class:`History`: early stopping on a
  validation metric, best-weight restoring, learning-rate schedules, per-epoch seeding,
  atomic checkpoints and resuming.
- :class:`NodeClassification` (one graph, masks) and :class:`GraphPrediction` (lists of graphs,
  batched) are the transductive and inductive tasks; :class:`InductiveNodeClassification`
  labels the nodes of many graphs, :class:`TensorClassification` classifies plain tensors;
  :class:`LinkPrediction` trains a graph auto-encoder (GAE, or VGAE with its KL term) on an
  :func:`edge_split`.
- :func:`cross_validate`: stratified k-fold with an inner validation fold, around :func:`fit`.
- :class:`SampledNodeClassification`: GraphSAGE-style neighbour-sampled node batches.
- :class:`SkipGramTask`: skip-gram with negative sampling on texts or random walks
  (word2vec, DeepWalk, node2vec).
- :mod:`geodl.tasks.image_quality`: :func:`frechet_distance` in the feature space of a geodl
  CNN (:func:`train_feature_classifier`), :func:`classifier_accuracy` of conditional samples,
  :func:`psnr`.
- Generative: :class:`Reconstruction` (AE, denoising AE with :func:`corrupt`),
  :class:`ELBOTask` (VAE, ``beta``, :func:`iwae_nll`), :class:`AdversarialTask` (GAN, WGAN,
  WGAN-GP with ``n_critic``, :func:`gradient_penalty`), trained by manual optimisation.
- :class:`DiffusionTask`: the noise-prediction (or v-prediction) loss at uniform timesteps,
  with an EMA of the weights for sampling; :func:`bucket_losses` per timestep bucket.
- Mini DALL-E (:mod:`geodl.tasks.dalle`): :class:`TokenizerTask` (VQ-VAE, dVAE),
  :class:`ContrastiveTask` (:func:`contrastive_loss`), :class:`TextToImageTask`,
  :class:`AttributeTask` (the judges).
- :func:`node_clustering`: k-means on node embeddings, scored by accuracy (best matching), NMI
  and ARI.
- :mod:`geodl.tasks.metrics`: accuracy, balanced accuracy, precision, recall, F1, confusion
  matrix, ROC-AUC, average precision, MAE, RMSE (NaN-masked multi-task).
- :mod:`geodl.tasks.splits`: random, stratified k-fold, Bemis-Murcko scaffold, Planetoid masks.
"""

from geodl.tasks.adversarial import (
    AdversarialTask,
    gan_losses,
    gradient_penalty,
    wgan_losses,
)
from geodl.tasks.checkpoint import load_checkpoint, save_checkpoint
from geodl.tasks.clustering import cluster_accuracy, clustering_scores, kmeans, node_clustering
from geodl.tasks.cv import CVResult, cross_validate
from geodl.tasks.dalle import (
    AttributeTask,
    ContrastiveTask,
    TextToImageTask,
    TokenizerTask,
    contrastive_loss,
)
from geodl.tasks.diffusion import DiffusionTask, bucket_losses, diffusion_loss
from geodl.tasks.generative import (
    ELBOTask,
    ImageBatches,
    Reconstruction,
    corrupt,
    iwae_nll,
    kl_normal,
    log_likelihood,
    negative_elbo,
    to_unit_images,
)
from geodl.tasks.image_quality import (
    classifier_accuracy,
    classifier_features,
    frechet_distance,
    gaussian_frechet,
    psnr,
    train_feature_classifier,
)
from geodl.tasks.inductive import InductiveNodeClassification
from geodl.tasks.link import (
    EdgeSplit,
    LinkPrediction,
    edge_split,
    full_gae_loss,
    gae_loss,
    inner_product_decode,
)
from geodl.tasks.loop import History, fit
from geodl.tasks.metrics import (
    accuracy,
    average_precision,
    balanced_accuracy,
    confusion_matrix,
    f1_score,
    mae,
    precision,
    recall,
    rmse,
    roc_auc,
)
from geodl.tasks.sampled import SampledNodeClassification
from geodl.tasks.skipgram import SkipGramTask, noise_distribution, sgns_loss, skipgram_pairs
from geodl.tasks.splits import (
    index_to_mask,
    mask_to_index,
    murcko_scaffold,
    per_class_split,
    random_split,
    scaffold_split,
    stratified_kfold,
)
from geodl.tasks.tasks import GraphPrediction, NodeClassification, Task
from geodl.tasks.tensor import TensorClassification
from geodl.tasks.text import mask_tokens, pad_sequences, sample_blocks

__all__ = [
    "fit", "History", "Task", "NodeClassification", "GraphPrediction",
    "InductiveNodeClassification", "TensorClassification",
    "LinkPrediction", "EdgeSplit", "edge_split", "inner_product_decode", "gae_loss",
    "full_gae_loss", "cross_validate", "CVResult",
    "DiffusionTask", "diffusion_loss", "bucket_losses",
    "kmeans", "cluster_accuracy", "clustering_scores", "node_clustering",
    "save_checkpoint", "load_checkpoint",
    "accuracy", "balanced_accuracy", "precision", "recall", "f1_score", "confusion_matrix",
    "roc_auc", "average_precision", "mae", "rmse",
    "random_split", "stratified_kfold", "scaffold_split", "murcko_scaffold",
    "index_to_mask", "mask_to_index", "per_class_split",
    "mask_tokens", "pad_sequences", "sample_blocks",
    "SampledNodeClassification", "SkipGramTask", "skipgram_pairs", "sgns_loss",
    "noise_distribution",
    "frechet_distance", "gaussian_frechet", "classifier_features", "classifier_accuracy",
    "train_feature_classifier", "psnr",
    "ImageBatches", "to_unit_images", "corrupt", "Reconstruction", "ELBOTask", "kl_normal",
    "log_likelihood",
    "negative_elbo", "iwae_nll", "AdversarialTask", "gradient_penalty", "gan_losses",
    "wgan_losses",
    "TokenizerTask", "ContrastiveTask", "TextToImageTask", "AttributeTask", "contrastive_loss",
]
