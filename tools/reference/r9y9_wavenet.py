"""Self-contained PyTorch re-implementation of r9y9/wavenet_vocoder's WaveNet.

This mirrors wavenet_vocoder/{wavenet,modules,upsample,mixture}.py (the 0.1.x
"ConvInUpsampleNetwork" generation of the code) closely enough that
``WaveNet.state_dict()`` has exactly r9y9's key names and a state_dict saved by
r9y9's training script loads into it with ``load_state_dict`` unchanged:

    first_conv.{weight_g,weight_v,bias}                       weight-normed 1x1
    conv_layers.N.conv.{weight_g,weight_v,bias}               dilated causal conv
    conv_layers.N.conv1x1c.{weight_g,weight_v}                local conditioning
    conv_layers.N.conv1x1g.{weight_g,weight_v}                global conditioning
    conv_layers.N.conv1x1_out.{weight_g,weight_v,bias}
    conv_layers.N.conv1x1_skip.{weight_g,weight_v,bias}
    last_conv_layers.{1,3}.{weight_g,weight_v,bias}           (0, 2 are ReLUs)
    embed_speakers.weight                                     nn.Embedding
    upsample_net.conv_in.weight                               plain Conv1d, no bias
    upsample_net.upsample.up_layers.{1,3,...}.{weight_g,weight_v}
                                                              weight-normed Conv2d

The older 2018 layout (``upsample_layout="transposed"``, r9y9's code before the
2019 refactor) has no upsample_net; instead

    upsample_conv.{0,2,4,...}.{weight_g,weight_v,bias}        weight-normed
                                                              ConvTranspose2d(1, 1,
                                                              (freq_axis_kernel_size, s),
                                                              stride (1, s)), each
                                                              followed by a ReLU
                                                              (1, 3, ...: no tensors)

and no cin_pad (the mel goes in unpadded, [B, cin, F]).

Only the parallel (teacher-forced) forward is implemented, no incremental
generation. Dropout is accepted for signature compatibility but the reference is
meant to be built with dropout=0 (and is usually run in eval mode).

Conventions, as in r9y9:
  * x is [B, 1, T] (scalar input) or [B, out_channels, T] (one-hot classes).
  * c is the mel [B, cin, F + 2*cin_pad]: the CALLER pads it by cin_pad frames on
    both sides (``pad_mel`` does edge/replicate padding) and the upsampler turns
    it into [B, cin, F * prod(upsample_scales)].
  * g is the speaker id [B] (or [B, 1]) when an embedding is present, otherwise
    already [B, gin, 1] features.

Losses:
  * ``discretized_mix_logistic_loss`` is mixture.py's, verbatim in behaviour;
    ``mol_loss`` is its reduce=False form (per sample [B, T, 1]).
  * ``mulaw_nll`` is per-sample cross entropy [B, T].

Needs only torch and numpy.
"""

import math
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "Conv1d", "Conv1d1x1", "Embedding", "ResidualConv1dGLU", "Stretch2d",
    "UpsampleNetwork", "ConvInUpsampleNetwork", "ConvTranspose2d",
    "transposed_upsample_layers", "WaveNet", "pad_mel",
    "discretized_mix_logistic_loss", "mol_loss", "mulaw_nll",
    "wavenet_from_config", "remove_weight_norm", "receptive_field_size",
]


def _weight_norm(m, name="weight", dim=0):
    # The legacy hook-based weight norm gives r9y9's key names (weight_g /
    # weight_v). It is deprecated in recent torch in favour of the
    # parametrization version (keys parametrizations.weight.original0/1),
    # which tools/convert_checkpoint.py also understands.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return nn.utils.weight_norm(m, name=name, dim=dim)


def remove_weight_norm(model):
    """Folds every weight_g / weight_v pair back into a plain ``weight``."""
    for m in model.modules():
        if hasattr(m, "weight_g") and hasattr(m, "weight_v"):
            nn.utils.remove_weight_norm(m)
    return model


# --------------------------------------------------------------------- modules.py

def Conv1d(in_channels, out_channels, kernel_size, *args, **kwargs):
    """Weight-normalised Conv1d, kaiming_normal(relu) weights and zero bias."""
    m = nn.Conv1d(in_channels, out_channels, kernel_size, *args, **kwargs)
    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    if m.bias is not None:
        nn.init.constant_(m.bias, 0)
    return _weight_norm(m)


def Conv1d1x1(in_channels, out_channels, bias=True):
    return Conv1d(in_channels, out_channels, kernel_size=1, padding=0, dilation=1, bias=bias)


def Embedding(num_embeddings, embedding_dim, padding_idx=None, std=0.01):
    m = nn.Embedding(num_embeddings, embedding_dim, padding_idx)
    m.weight.data.normal_(0, std)
    return m


def _conv1x1_forward(conv, x):
    return conv(x)


class ResidualConv1dGLU(nn.Module):
    """Residual dilated conv1d + gated linear unit (r9y9's modules.ResidualConv1dGLU)."""

    def __init__(self, residual_channels, gate_channels, kernel_size,
                 skip_out_channels=None, cin_channels=-1, gin_channels=-1,
                 dropout=0.0, padding=None, dilation=1, causal=True, bias=True,
                 *args, **kwargs):
        super().__init__()
        self.dropout = dropout
        if skip_out_channels is None:
            skip_out_channels = residual_channels
        if padding is None:
            # no future time stamps available
            if causal:
                padding = (kernel_size - 1) * dilation
            else:
                padding = (kernel_size - 1) // 2 * dilation
        self.causal = causal

        self.conv = Conv1d(residual_channels, gate_channels, kernel_size,
                           padding=padding, dilation=dilation, bias=bias, *args, **kwargs)

        # local conditioning
        if cin_channels is not None and cin_channels > 0:
            self.conv1x1c = Conv1d1x1(cin_channels, gate_channels, bias=False)
        else:
            self.conv1x1c = None

        # global conditioning
        if gin_channels is not None and gin_channels > 0:
            self.conv1x1g = Conv1d1x1(gin_channels, gate_channels, bias=False)
        else:
            self.conv1x1g = None

        # conv output is split into two groups
        gate_out_channels = gate_channels // 2
        self.conv1x1_out = Conv1d1x1(gate_out_channels, residual_channels, bias=bias)
        self.conv1x1_skip = Conv1d1x1(gate_out_channels, skip_out_channels, bias=bias)

    def forward(self, x, c=None, g=None):
        residual = x
        x = F.dropout(x, p=self.dropout, training=self.training)
        splitdim = 1
        x = self.conv(x)
        # remove future time steps
        x = x[:, :, :residual.size(-1)] if self.causal else x

        a, b = x.split(x.size(splitdim) // 2, dim=splitdim)

        # local conditioning
        if c is not None:
            assert self.conv1x1c is not None
            c = _conv1x1_forward(self.conv1x1c, c)
            ca, cb = c.split(c.size(splitdim) // 2, dim=splitdim)
            a, b = a + ca, b + cb

        # global conditioning
        if g is not None:
            assert self.conv1x1g is not None
            g = _conv1x1_forward(self.conv1x1g, g)
            ga, gb = g.split(g.size(splitdim) // 2, dim=splitdim)
            a, b = a + ga, b + gb

        x = torch.tanh(a) * torch.sigmoid(b)

        # For skip connection
        s = _conv1x1_forward(self.conv1x1_skip, x)

        # For residual connection
        x = _conv1x1_forward(self.conv1x1_out, x)

        x = (x + residual) * math.sqrt(0.5)
        return x, s


# -------------------------------------------------------------------- upsample.py

class Stretch2d(nn.Module):
    def __init__(self, x_scale, y_scale, mode="nearest"):
        super().__init__()
        self.x_scale = x_scale
        self.y_scale = y_scale
        self.mode = mode

    def forward(self, x):
        return F.interpolate(x, scale_factor=(self.y_scale, self.x_scale), mode=self.mode)


class UpsampleNetwork(nn.Module):
    def __init__(self, upsample_scales, upsample_activation="none",
                 upsample_activation_params={}, mode="nearest",
                 freq_axis_kernel_size=1, cin_pad=0, cin_channels=80):
        super().__init__()
        self.up_layers = nn.ModuleList()
        total_scale = int(np.prod(upsample_scales))
        self.indent = cin_pad * total_scale
        for scale in upsample_scales:
            freq_axis_padding = (freq_axis_kernel_size - 1) // 2
            k_size = (freq_axis_kernel_size, scale * 2 + 1)
            padding = (freq_axis_padding, scale)
            stretch = Stretch2d(scale, 1, mode)
            conv = nn.Conv2d(1, 1, kernel_size=k_size, padding=padding, bias=False)
            conv.weight.data.fill_(1. / np.prod(k_size))
            conv = _weight_norm(conv)
            self.up_layers.append(stretch)
            self.up_layers.append(conv)
            if upsample_activation != "none":
                nonlinear = getattr(nn, upsample_activation)
                self.up_layers.append(nonlinear(**upsample_activation_params))

    def forward(self, c):
        """c: [B, C, T] -> [B, C, T * prod(scales)]."""
        c = c.unsqueeze(1)   # B x 1 x C x T
        for f in self.up_layers:
            c = f(c)
        c = c.squeeze(1)     # B x C x T'
        if self.indent > 0:
            c = c[:, :, self.indent:-self.indent]
        return c


class ConvInUpsampleNetwork(nn.Module):
    def __init__(self, upsample_scales, upsample_activation="none",
                 upsample_activation_params={}, mode="nearest",
                 freq_axis_kernel_size=1, cin_pad=0, cin_channels=80):
        super().__init__()
        # To capture wide-context information in conditional features
        # (meaningless if cin_pad == 0).
        ks = 2 * cin_pad + 1
        self.conv_in = nn.Conv1d(cin_channels, cin_channels, kernel_size=ks, bias=False)
        self.upsample = UpsampleNetwork(
            upsample_scales, upsample_activation, upsample_activation_params,
            mode, freq_axis_kernel_size, cin_pad=0, cin_channels=cin_channels)

    def forward(self, c):
        """c: [B, C, F + 2*cin_pad] -> [B, C, F * prod(scales)]."""
        return self.upsample(self.conv_in(c))


def ConvTranspose2d(freq_axis_kernel_size, scale):
    """The 2018 layout's weight-normed ConvTranspose2d(1, 1, (k, s), stride (1, s)).

    r9y9 filled the weight with 1/k and zeroed the bias; here both are random
    (weight N(1/k, (0.5/k)^2) per tap, bias N(0, 0.05^2)) so that tap order,
    the frequency axis and the bias all matter in a test."""
    m = nn.ConvTranspose2d(1, 1, kernel_size=(freq_axis_kernel_size, scale),
                           padding=((freq_axis_kernel_size - 1) // 2, 0),
                           dilation=1, stride=(1, scale), bias=True)
    with torch.no_grad():
        m.weight.normal_(1.0 / freq_axis_kernel_size, 0.5 / freq_axis_kernel_size)
        m.bias.normal_(0.0, 0.05)
    return _weight_norm(m)   # dim=0: weight_g is [1, 1, 1, 1], the norm of all taps


def transposed_upsample_layers(upsample_scales, freq_axis_kernel_size):
    """The 2018 ``upsample_conv`` list: [convT(s0), ReLU, convT(s1), ReLU, ...]."""
    layers = nn.ModuleList()
    for s in upsample_scales:
        layers.append(ConvTranspose2d(freq_axis_kernel_size, s))
        layers.append(nn.ReLU(inplace=False))
    return layers


def pad_mel(c, cin_pad):
    """Edge (replicate) pads a mel [B, C, F] by cin_pad frames on both sides."""
    if cin_pad <= 0:
        return c
    return torch.cat([c[:, :, :1].expand(-1, -1, cin_pad), c,
                      c[:, :, -1:].expand(-1, -1, cin_pad)], dim=-1)


# --------------------------------------------------------------------- wavenet.py

def receptive_field_size(total_layers, num_cycles, kernel_size,
                         dilation=lambda x: 2 ** x):
    assert total_layers % num_cycles == 0
    layers_per_cycle = total_layers // num_cycles
    dilations = [dilation(i % layers_per_cycle) for i in range(total_layers)]
    return (kernel_size - 1) * sum(dilations) + 1


def _expand_global_features(B, T, g, bct=True):
    if g is None:
        return None
    g = g.unsqueeze(-1) if g.dim() == 2 else g
    if bct:
        return g.expand(B, -1, T)
    return g.expand(B, -1, T).transpose(1, 2).contiguous()


class WaveNet(nn.Module):
    """r9y9's WaveNet (wavenet_vocoder.wavenet.WaveNet), parallel forward only."""

    def __init__(self, out_channels=256, layers=20, stacks=2,
                 residual_channels=512, gate_channels=512, skip_out_channels=512,
                 kernel_size=3, dropout=0.0,
                 cin_channels=-1, gin_channels=-1, n_speakers=None,
                 upsample_conditional_features=False,
                 upsample_net="ConvInUpsampleNetwork",
                 upsample_params={"upsample_scales": [4, 4, 4, 4]},
                 scalar_input=False,
                 use_speaker_embedding=False,
                 output_distribution="Logistic",
                 cin_pad=0,
                 upsample_layout="conv_in",
                 upsample_scales=None,
                 freq_axis_kernel_size=3,
                 legacy=None):
        """upsample_layout "conv_in" (default) builds ``upsample_net`` from
        upsample_net / upsample_params as r9y9's current code does; "transposed"
        builds the 2018 ``upsample_conv`` list from upsample_scales (falling back
        to upsample_params["upsample_scales"]) and freq_axis_kernel_size, as
        r9y9's 2018 WaveNet(upsample_scales=..., freq_axis_kernel_size=...) did."""
        super().__init__()
        if upsample_layout not in ("conv_in", "transposed"):
            raise ValueError(f"upsample_layout must be 'conv_in' or 'transposed', got {upsample_layout!r}")
        self.upsample_layout = upsample_layout
        # Skip combination: None = the current code (sum * sqrt(1/layers)); True = the 2018
        # default (skips = h, then (skips + h) * sqrt(0.5) per later layer); False = plain sum.
        self.legacy = legacy
        self.scalar_input = scalar_input
        self.out_channels = out_channels
        self.cin_channels = cin_channels
        self.output_distribution = output_distribution
        assert layers % stacks == 0
        layers_per_stack = layers // stacks
        if scalar_input:
            self.first_conv = Conv1d1x1(1, residual_channels)
        else:
            self.first_conv = Conv1d1x1(out_channels, residual_channels)

        self.conv_layers = nn.ModuleList()
        for layer in range(layers):
            dilation = 2 ** (layer % layers_per_stack)
            conv = ResidualConv1dGLU(
                residual_channels, gate_channels,
                kernel_size=kernel_size,
                skip_out_channels=skip_out_channels,
                bias=True,
                dilation=dilation, dropout=dropout,
                cin_channels=cin_channels,
                gin_channels=gin_channels)
            self.conv_layers.append(conv)
        self.last_conv_layers = nn.ModuleList([
            nn.ReLU(inplace=True),
            Conv1d1x1(skip_out_channels, skip_out_channels),
            nn.ReLU(inplace=True),
            Conv1d1x1(skip_out_channels, out_channels),
        ])

        if gin_channels is not None and gin_channels > 0 and use_speaker_embedding:
            assert n_speakers is not None
            self.embed_speakers = Embedding(n_speakers, gin_channels, padding_idx=None, std=0.1)
        else:
            self.embed_speakers = None

        self.upsample_net = None
        self.upsample_conv = None
        if upsample_conditional_features and upsample_layout == "transposed":
            if cin_pad:
                raise ValueError("the 2018 transposed layout has no cin_pad")
            scales = upsample_scales if upsample_scales is not None else upsample_params["upsample_scales"]
            self.upsample_conv = transposed_upsample_layers(scales, freq_axis_kernel_size)
        elif upsample_conditional_features:
            cls = {"ConvInUpsampleNetwork": ConvInUpsampleNetwork,
                   "UpsampleNetwork": UpsampleNetwork}[upsample_net]
            self.upsample_net = cls(**upsample_params)

        self.receptive_field = receptive_field_size(layers, stacks, kernel_size)

    def has_speaker_embedding(self):
        return self.embed_speakers is not None

    def local_conditioning_enabled(self):
        return self.cin_channels is not None and self.cin_channels > 0

    def upsample(self, c):
        """Conditioning at the frame rate -> at the sample rate, either layout:
        conv_in [B, cin, F + 2*cin_pad] or transposed [B, cin, F] ->
        [B, cin, F * prod(upsample_scales)]. Without an upsampler c is returned."""
        if self.upsample_net is not None:
            return self.upsample_net(c)
        if self.upsample_conv is not None:
            c = c.unsqueeze(1)      # B x 1 x C x T
            for f in self.upsample_conv:
                c = f(c)
            return c.squeeze(1)     # B x C x T'
        return c

    def forward(self, x, c=None, g=None, softmax=False):
        """x [B, C, T], c [B, cin, F + 2*cin_pad] (or [B, cin, T] without upsampling),
        g [B] / [B, 1] speaker ids (or [B, gin, 1] features). Returns [B, out, T]."""
        B, _, T = x.size()

        if g is not None:
            if self.embed_speakers is not None:
                # (B x 1) -> (B x 1 x gin_channels)
                g = self.embed_speakers(g.view(B, -1))
                # (B x gin_channels x 1)
                g = g.transpose(1, 2)
                assert g.dim() == 3
        # Expand global conditioning features to all time steps
        g_bct = _expand_global_features(B, T, g, bct=True)

        if c is not None and (self.upsample_net is not None or self.upsample_conv is not None):
            c = self.upsample(c)
            assert c.size(-1) == x.size(-1)

        # Feed data to network
        x = self.first_conv(x)
        skips = None
        for f in self.conv_layers:
            x, h = f(x, c, g_bct)
            if skips is None:
                skips = h
            elif self.legacy:
                skips = (skips + h) * math.sqrt(0.5)
            else:
                skips = skips + h
        if self.legacy is None:
            skips = skips * math.sqrt(1.0 / len(self.conv_layers))

        x = skips
        for f in self.last_conv_layers:
            x = f(x)

        x = F.softmax(x, dim=1) if softmax else x
        return x


# --------------------------------------------------------- WaveKit config bridge

_DIST_TO_R9Y9 = {"mol": "Logistic", "gaussian": "Normal", "mulaw": "Logistic"}


def wavenet_from_config(cfg, dropout=0.0):
    """Builds the reference from a WaveKit config dict (snake_case keys, as in the
    safetensors metadata "wavekit.config"). upsample_layout defaults to "conv_in"
    and freq_axis_kernel_size to 1 (configs written before those keys existed)."""
    cin = cfg.get("cin_channels")
    gin = cfg.get("gin_channels")
    scales = cfg.get("upsample_scales")
    cin_pad = int(cfg.get("cin_pad") or 0)
    layout = cfg.get("upsample_layout") or "conv_in"
    fak = int(cfg.get("freq_axis_kernel_size") or 1)
    return WaveNet(
        out_channels=cfg["out_channels"], layers=cfg["layers"], stacks=cfg["stacks"],
        residual_channels=cfg["residual_channels"], gate_channels=cfg["gate_channels"],
        skip_out_channels=cfg["skip_out_channels"], kernel_size=cfg["kernel_size"],
        dropout=dropout,
        cin_channels=cin if cin is not None else -1,
        gin_channels=gin if gin is not None else -1,
        n_speakers=cfg.get("n_speakers"),
        upsample_conditional_features=scales is not None,
        upsample_net="ConvInUpsampleNetwork",
        upsample_params={"upsample_scales": list(scales or []), "cin_pad": cin_pad,
                         "cin_channels": cin if cin is not None else -1,
                         "freq_axis_kernel_size": fak},
        scalar_input=bool(cfg["scalar_input"]),
        legacy=cfg.get("legacy"),
        use_speaker_embedding=gin is not None and cfg.get("n_speakers") is not None,
        output_distribution=_DIST_TO_R9Y9[cfg.get("output_distribution", "mol")],
        cin_pad=cin_pad,
        upsample_layout=layout,
        upsample_scales=list(scales) if scales is not None else None,
        freq_axis_kernel_size=fak)


# --------------------------------------------------------------------- mixture.py

def log_sum_exp(x):
    """Numerically stable log_sum_exp over the last axis (mixture.py)."""
    axis = len(x.size()) - 1
    m, _ = torch.max(x, dim=axis)
    m2, _ = torch.max(x, dim=axis, keepdim=True)
    return m + torch.log(torch.sum(torch.exp(x - m2), dim=axis))


def discretized_mix_logistic_loss(y_hat, y, num_classes=256, log_scale_min=-7.0, reduce=True):
    """Discretized mixture of logistics NLL (PixelCNN++), as r9y9's mixture.py.

    y_hat [B, 3K, T] = [logit_probs | means | log_scales]; y [B, T, 1] in [-1, 1].
    reduce=True returns the SUM over B and T; reduce=False returns [B, T, 1].
    """
    assert y_hat.dim() == 3
    assert y_hat.size(1) % 3 == 0
    nr_mix = y_hat.size(1) // 3

    # (B x T x C)
    y_hat = y_hat.transpose(1, 2)

    # unpack parameters. (B, T, num_mixtures) x 3
    logit_probs = y_hat[:, :, :nr_mix]
    means = y_hat[:, :, nr_mix:2 * nr_mix]
    log_scales = torch.clamp(y_hat[:, :, 2 * nr_mix:3 * nr_mix], min=log_scale_min)

    # B x T x 1 -> B x T x num_mixtures
    y = y.expand_as(means)

    centered_y = y - means
    inv_stdv = torch.exp(-log_scales)
    plus_in = inv_stdv * (centered_y + 1. / (num_classes - 1))
    cdf_plus = torch.sigmoid(plus_in)
    min_in = inv_stdv * (centered_y - 1. / (num_classes - 1))
    cdf_min = torch.sigmoid(min_in)

    # log probability for edge case of 0 (before scaling)
    log_cdf_plus = plus_in - F.softplus(plus_in)
    # log probability for edge case of 255 (before scaling)
    log_one_minus_cdf_min = -F.softplus(min_in)

    # probability for all other cases
    cdf_delta = cdf_plus - cdf_min

    mid_in = inv_stdv * centered_y
    # log probability in the center of the bin, to be used in extreme cases
    log_pdf_mid = mid_in - log_scales - 2. * F.softplus(mid_in)

    inner_inner_cond = (cdf_delta > 1e-5).to(y_hat.dtype)
    inner_inner_out = inner_inner_cond * \
        torch.log(torch.clamp(cdf_delta, min=1e-12)) + \
        (1. - inner_inner_cond) * (log_pdf_mid - np.log((num_classes - 1) / 2))
    inner_cond = (y > 0.999).to(y_hat.dtype)
    inner_out = inner_cond * log_one_minus_cdf_min + (1. - inner_cond) * inner_inner_out
    cond = (y < -0.999).to(y_hat.dtype)
    log_probs = cond * log_cdf_plus + (1. - cond) * inner_out

    log_probs = log_probs + F.log_softmax(logit_probs, -1)

    if reduce:
        return -torch.sum(log_sum_exp(log_probs))
    return -log_sum_exp(log_probs).unsqueeze(-1)


def mol_loss(y_hat, y, num_classes=65536, log_scale_min=-7.0):
    """Per-sample MoL NLL [B, T, 1]; y_hat [B, 3K, T], y [B, T, 1] (or [B, 1, T] / [B, T])."""
    if y.dim() == 2:
        y = y.unsqueeze(-1)
    elif y.dim() == 3 and y.size(1) == 1 and y.size(2) != 1:
        y = y.transpose(1, 2)
    return discretized_mix_logistic_loss(y_hat, y, num_classes=num_classes,
                                         log_scale_min=log_scale_min, reduce=False)


def mulaw_nll(logits, classes):
    """Per-sample cross entropy [B, T] of integer classes [B, T] under logits [B, C, T]."""
    return F.cross_entropy(logits, classes.long(), reduction="none")
