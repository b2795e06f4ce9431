"""Models: compositions of :mod:`geodl.nn` layers.

- Graphs: :class:`GCN`, :class:`GIN` and :class:`GAT` share one loop and one config,
  :class:`GNNConfig`; :class:`MPNN` (edge, node and global updates), :class:`GPS` (graph
  transformer); :class:`GAE` / :class:`VGAE` (link prediction).
- Images (grid graphs): :class:`CNN`, :class:`UNet`, the diffusion :class:`Denoiser`;
  :func:`from_images` / :func:`to_images`.
- Graphs: :class:`GCN`, :class:`GIN`, :class:`GAT` and :class:`GraphSAGE` share one loop
  and one config, :class:`GNNConfig`; :class:`MPNN` (edge, node and global updates),
  :class:`GPS` (graph transformer); :class:`GAE` / :class:`VGAE` (link prediction).
- Images (grid graphs): :class:`CNN`, :class:`UNet`; :func:`from_images` / :func:`to_images`.
- Sequences (path graphs): :class:`SequenceTagger`, :class:`SequenceClassifier`,
  :class:`SequenceGenerator`, :class:`Seq2Seq`, :class:`Forecaster`.
- Path graphs of tokens or random walks: :class:`SkipGram` (word2vec, node2vec).
- Complete graphs (attention): :class:`GPT`, :class:`BERT`, :class:`ViT` (its patches are the
  nodes of a grid graph) and the encoder-decoder :class:`Transformer`.
- Generative (grid graphs or MLPs): :class:`Autoencoder`, :class:`VAE` (conditional with
  ``num_classes``), the DCGAN-style :class:`Generator` / :class:`Critic` in a :class:`GAN`,
  built from :class:`GridEncoder` / :class:`GridDecoder` / :class:`MLP`;
  :func:`interpolate_latents` (linear, spherical).
- Mini DALL-E: image tokenizers :class:`VQVAE` (:class:`VectorQuantizer`) and :class:`DVAE`,
  the contrastive :class:`CLIP`, the text-to-image transformer :class:`DALLE` and
  :func:`rerank`.
"""

from geodl.models.ae import Autoencoder
from geodl.models.autoencoder import GAE, VGAE
from geodl.models.clip import CLIP, CLIPConfig
from geodl.models.cnn import CNN, CNNConfig, UNet, from_images, to_images
from geodl.models.dalle import DALLE, DALLEConfig, rerank
from geodl.models.denoiser import Denoiser, DenoiserConfig
from geodl.models.dvae import DVAE
from geodl.models.gan import GAN, Critic, Generator
from geodl.models.gnn import GAT, GCN, GIN, GNNConfig, GraphSAGE, NodeBatchNorm, count_parameters
from geodl.models.gps import GPS, GPSConfig, add_positional_encoding
from geodl.models.grid_coders import MLP, GridDecoder, GridEncoder
from geodl.models.latent import interpolate_latents
from geodl.models.mpnn import MPNN, MPNNConfig
from geodl.models.rnn import (
    Forecaster,
    RNNConfig,
    Seq2Seq,
    SequenceClassifier,
    SequenceGenerator,
    SequenceTagger,
)
from geodl.models.skipgram import SkipGram
from geodl.models.transformer import (
    BERT,
    GPT,
    BertConfig,
    GPTConfig,
    Transformer,
    TransformerConfig,
    ViT,
    ViTConfig,
)
from geodl.models.vae import VAE
from geodl.models.vqvae import VQVAE, VectorQuantizer

__all__ = [
    "GNNConfig", "GCN", "GIN", "GAT", "GraphSAGE", "NodeBatchNorm", "count_parameters",
    "SkipGram",
    "MPNNConfig", "MPNN", "GPSConfig", "GPS", "add_positional_encoding", "GAE", "VGAE",
    "CNNConfig", "CNN", "UNet", "from_images", "to_images", "DenoiserConfig", "Denoiser",
    "RNNConfig", "SequenceTagger", "SequenceClassifier", "SequenceGenerator", "Seq2Seq",
    "Forecaster",
    "GPTConfig", "GPT", "BertConfig", "BERT", "ViTConfig", "ViT", "TransformerConfig",
    "Transformer",
    "Autoencoder", "VAE", "Generator", "Critic", "GAN", "GridEncoder", "GridDecoder", "MLP",
    "interpolate_latents",
    "VQVAE", "VectorQuantizer", "DVAE", "CLIPConfig", "CLIP", "DALLEConfig", "DALLE", "rerank",
]
