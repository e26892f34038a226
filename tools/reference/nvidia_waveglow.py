"""A re-implementation of NVIDIA/waveglow's glow.py (WaveGlow, WN,
Invertible1x1Conv, WaveGlowLoss) with exactly its state_dict names, as the
reference for WaveKit's WaveGlow.

Written from a description of NVIDIA's code (no copy of it was at hand); the
names, shapes and the order of operations follow glow.py:

    upsample.{weight [n_mel, n_mel, 1024], bias [n_mel]}  ConvTranspose1d, stride 256
    WN.k.start.{weight_g, weight_v, bias}                 weight-normed Conv1d(n_half, C, 1)
    WN.k.cond_layer.{weight_g, weight_v, bias}            weight-normed Conv1d(n_mel*n_group, 2*C*L, 1)
    WN.k.in_layers.i.{weight_g, weight_v, bias}           weight-normed Conv1d(C, 2C, K, dilation 2**i)
    WN.k.res_skip_layers.i.{weight_g, weight_v, bias}     weight-normed Conv1d(C, 2C (C for the last), 1)
    WN.k.end.{weight, bias}                               Conv1d(C, 2*n_half, 1), no weight norm
    convinv.k.conv.weight [c, c, 1]                       Conv1d(c, c, 1, bias=False)

The older layout (NVIDIA's glow_old.py, and NVIDIA/DeepLearningExamples'
WaveGlow) has per-layer conditioning 1x1s WN.k.cond_layers.i (each
Conv1d(n_mel*n_group, 2*C, 1), weight-normed) instead of the fused cond_layer:
WaveGlow(..., legacy_cond=True) builds it. fuse_cond_layers() turns such a
state_dict into the fused one (concatenation along the output channels, which
computes the same thing because weight norm is per output channel).

Differences from NVIDIA's code, all deliberate:
  * WN.end is zero-initialised by NVIDIA (so an untrained flow is the
    identity); here it is N(0, end_init_std^2) when end_init_std > 0 (the
    golden-data script uses this so outputs are non-trivial). Default 0 = NVIDIA.
  * Invertible1x1Conv.reverse inverts W in W's own dtype (NVIDIA: W.float()
    .inverse(), cached as self.W_inverse) and does not cache it.
  * infer() draws its noise from an optional torch.Generator on the CPU (NVIDIA:
    torch.cuda.FloatTensor(...).normal_()); sigma == 0 gives exact zeros.
Everything else (the unfold grouping, the early outputs, the cropping of the
upsampled mel, the loss) is NVIDIA's.
"""

import torch
import torch.nn.functional as F


def fused_add_tanh_sigmoid_multiply(input_a, input_b, n_channels):
    in_act = input_a + input_b
    t_act = torch.tanh(in_act[:, :n_channels, :])
    s_act = torch.sigmoid(in_act[:, n_channels:, :])
    return t_act * s_act


class WaveGlowLoss(torch.nn.Module):
    def __init__(self, sigma=1.0):
        super().__init__()
        self.sigma = sigma

    def forward(self, model_output):
        z, log_s_list, log_det_W_list = model_output
        for i, log_s in enumerate(log_s_list):
            if i == 0:
                log_s_total = torch.sum(log_s)
                log_det_W_total = log_det_W_list[i]
            else:
                log_s_total = log_s_total + torch.sum(log_s)
                log_det_W_total = log_det_W_total + log_det_W_list[i]
        loss = torch.sum(z * z) / (2 * self.sigma * self.sigma) - log_s_total - log_det_W_total
        return loss / (z.size(0) * z.size(1) * z.size(2))


class Invertible1x1Conv(torch.nn.Module):
    """W z with a random orthogonal initial W (det +1)."""

    def __init__(self, c):
        super().__init__()
        self.conv = torch.nn.Conv1d(c, c, kernel_size=1, stride=1, padding=0, bias=False)
        W = torch.linalg.qr(torch.empty(c, c).normal_())[0]
        if torch.det(W) < 0:
            W[:, 0] = -1 * W[:, 0]
        W = W.view(c, c, 1)
        self.conv.weight.data = W.contiguous()

    def forward(self, z, reverse=False):
        batch_size, group_size, n_of_groups = z.size()
        W = self.conv.weight.squeeze(2)
        if reverse:
            W_inverse = torch.inverse(W)[..., None]
            return F.conv1d(z, W_inverse, bias=None, stride=1, padding=0)
        log_det_W = batch_size * n_of_groups * torch.logdet(W)
        z = self.conv(z)
        return z, log_det_W


class WN(torch.nn.Module):
    """The affine-coupling network: a WaveNet-like stack of non-causal dilated
    convolutions conditioned on the grouped mel. legacy_cond=True gives the
    per-layer cond_layers.i layout of glow_old.py / DeepLearningExamples."""

    def __init__(self, n_in_channels, n_mel_channels, n_layers, n_channels, kernel_size,
                 legacy_cond=False, end_init_std=0.0):
        super().__init__()
        assert kernel_size % 2 == 1
        assert n_channels % 2 == 0
        self.n_layers = n_layers
        self.n_channels = n_channels
        self.legacy_cond = legacy_cond
        self.in_layers = torch.nn.ModuleList()
        self.res_skip_layers = torch.nn.ModuleList()
        if legacy_cond:
            self.cond_layers = torch.nn.ModuleList()

        start = torch.nn.Conv1d(n_in_channels, n_channels, 1)
        self.start = torch.nn.utils.weight_norm(start, name="weight")

        end = torch.nn.Conv1d(n_channels, 2 * n_in_channels, 1)
        if end_init_std > 0:
            end.weight.data.normal_(0.0, end_init_std)
            end.bias.data.normal_(0.0, end_init_std)
        else:
            end.weight.data.zero_()
            end.bias.data.zero_()
        self.end = end

        if not legacy_cond:
            cond_layer = torch.nn.Conv1d(n_mel_channels, 2 * n_channels * n_layers, 1)
            self.cond_layer = torch.nn.utils.weight_norm(cond_layer, name="weight")

        for i in range(n_layers):
            dilation = 2 ** i
            padding = int((kernel_size * dilation - dilation) / 2)
            in_layer = torch.nn.Conv1d(n_channels, 2 * n_channels, kernel_size,
                                       dilation=dilation, padding=padding)
            self.in_layers.append(torch.nn.utils.weight_norm(in_layer, name="weight"))
            if legacy_cond:
                cond_layer = torch.nn.Conv1d(n_mel_channels, 2 * n_channels, 1)
                self.cond_layers.append(torch.nn.utils.weight_norm(cond_layer, name="weight"))
            res_skip_channels = 2 * n_channels if i < n_layers - 1 else n_channels
            res_skip_layer = torch.nn.Conv1d(n_channels, res_skip_channels, 1)
            self.res_skip_layers.append(torch.nn.utils.weight_norm(res_skip_layer, name="weight"))

    def forward(self, forward_input):
        audio, spect = forward_input
        audio = self.start(audio)
        output = torch.zeros_like(audio)
        C = self.n_channels
        if not self.legacy_cond:
            spect = self.cond_layer(spect)
        for i in range(self.n_layers):
            if self.legacy_cond:
                cond = self.cond_layers[i](spect)
            else:
                cond = spect[:, i * 2 * C:(i + 1) * 2 * C, :]
            acts = fused_add_tanh_sigmoid_multiply(self.in_layers[i](audio), cond, C)
            res_skip_acts = self.res_skip_layers[i](acts)
            if i < self.n_layers - 1:
                audio = audio + res_skip_acts[:, :C, :]
                output = output + res_skip_acts[:, C:, :]
            else:
                output = output + res_skip_acts
        return self.end(output)


class WaveGlow(torch.nn.Module):
    def __init__(self, n_mel_channels, n_flows, n_group, n_early_every, n_early_size, WN_config,
                 legacy_cond=False, end_init_std=0.0):
        super().__init__()
        self.upsample = torch.nn.ConvTranspose1d(n_mel_channels, n_mel_channels, 1024, stride=256)
        assert n_group % 2 == 0
        self.n_flows = n_flows
        self.n_group = n_group
        self.n_early_every = n_early_every
        self.n_early_size = n_early_size
        self.WN = torch.nn.ModuleList()
        self.convinv = torch.nn.ModuleList()

        n_half = int(n_group / 2)
        # Set up layers with the right sizes based on how many dimensions
        # have been output already
        n_remaining_channels = n_group
        for k in range(n_flows):
            if k % self.n_early_every == 0 and k > 0:
                n_half = n_half - int(self.n_early_size / 2)
                n_remaining_channels = n_remaining_channels - self.n_early_size
            self.convinv.append(Invertible1x1Conv(n_remaining_channels))
            self.WN.append(WN(n_half, n_mel_channels * n_group, legacy_cond=legacy_cond,
                              end_init_std=end_init_std, **WN_config))
        self.n_remaining_channels = n_remaining_channels

    def group_spect(self, spect):
        """[B, n_mel, T] -> [B, n_mel*n_group, T/n_group], NVIDIA's unfold."""
        spect = spect.unfold(2, self.n_group, self.n_group).permute(0, 2, 1, 3)
        return spect.contiguous().view(spect.size(0), spect.size(1), -1).permute(0, 2, 1)

    def forward(self, forward_input):
        """forward_input = (spect [B, n_mel, frames], audio [B, T]); returns
        (z [B, n_group, T/n_group], log_s_list, log_det_W_list)."""
        spect, audio = forward_input
        spect = self.upsample(spect)
        assert spect.size(2) >= audio.size(1)
        if spect.size(2) > audio.size(1):
            spect = spect[:, :, :audio.size(1)]
        spect = self.group_spect(spect)
        audio = audio.unfold(1, self.n_group, self.n_group).permute(0, 2, 1)
        output_audio = []
        log_s_list = []
        log_det_W_list = []
        for k in range(self.n_flows):
            if k % self.n_early_every == 0 and k > 0:
                output_audio.append(audio[:, :self.n_early_size, :])
                audio = audio[:, self.n_early_size:, :]
            audio, log_det_W = self.convinv[k](audio)
            log_det_W_list.append(log_det_W)
            n_half = int(audio.size(1) / 2)
            audio_0 = audio[:, :n_half, :]
            audio_1 = audio[:, n_half:, :]
            output = self.WN[k]((audio_0, spect))
            log_s = output[:, n_half:, :]
            b = output[:, :n_half, :]
            audio_1 = torch.exp(log_s) * audio_1 + b
            log_s_list.append(log_s)
            audio = torch.cat([audio_0, audio_1], 1)
        output_audio.append(audio)
        return torch.cat(output_audio, 1), log_s_list, log_det_W_list

    def infer(self, spect, sigma=1.0, generator=None):
        """spect [B, n_mel, frames] -> audio [B, frames*256] (NVIDIA crops the
        upsampled mel by kernel - stride = 768 samples, leaving frames*256)."""
        spect = self.upsample(spect)
        time_cutoff = self.upsample.kernel_size[0] - self.upsample.stride[0]
        spect = spect[:, :, :-time_cutoff]
        spect = self.group_spect(spect)
        B, G = spect.size(0), spect.size(2)

        def noise(channels):
            if sigma == 0:
                return torch.zeros(B, channels, G, dtype=spect.dtype, device=spect.device)
            z = torch.randn(B, channels, G, generator=generator, dtype=spect.dtype)
            return sigma * z.to(spect.device)

        audio = noise(self.n_remaining_channels)
        for k in reversed(range(self.n_flows)):
            n_half = int(audio.size(1) / 2)
            audio_0 = audio[:, :n_half, :]
            audio_1 = audio[:, n_half:, :]
            output = self.WN[k]((audio_0, spect))
            s = output[:, n_half:, :]
            b = output[:, :n_half, :]
            audio_1 = (audio_1 - b) / torch.exp(s)
            audio = torch.cat([audio_0, audio_1], 1)
            audio = self.convinv[k](audio, reverse=True)
            if k % self.n_early_every == 0 and k > 0:
                audio = torch.cat((noise(self.n_early_size), audio), 1)
        return audio.permute(0, 2, 1).contiguous().view(audio.size(0), -1)

    @staticmethod
    def remove_weightnorm(model):
        for wn in model.WN:
            wn.start = torch.nn.utils.remove_weight_norm(wn.start)
            for m in wn.in_layers:
                torch.nn.utils.remove_weight_norm(m)
            if wn.legacy_cond:
                for m in wn.cond_layers:
                    torch.nn.utils.remove_weight_norm(m)
            else:
                wn.cond_layer = torch.nn.utils.remove_weight_norm(wn.cond_layer)
            for m in wn.res_skip_layers:
                torch.nn.utils.remove_weight_norm(m)
        return model


# ------------------------------------------------------------------ helpers

CONFIG_KEYS = ("n_mel_channels", "n_flows", "n_group", "n_early_every", "n_early_size",
               "n_layers", "n_channels", "kernel_size")


def waveglow_from_config(cfg, legacy_cond=False, end_init_std=0.0):
    """A WaveGlow from WaveKit's config (the converter's "wavekit.config")."""
    return WaveGlow(cfg["n_mel_channels"], cfg["n_flows"], cfg["n_group"], cfg["n_early_every"],
                    cfg["n_early_size"],
                    {"n_layers": cfg["n_layers"], "n_channels": cfg["n_channels"],
                     "kernel_size": cfg["kernel_size"]},
                    legacy_cond=legacy_cond, end_init_std=end_init_std)


def fuse_cond_layers(state_dict):
    """WN.k.cond_layers.i.* -> WN.k.cond_layer.* (concatenated along the output
    channels in layer order). Other entries are passed through."""
    import re
    out, groups = {}, {}
    for k, v in state_dict.items():
        m = re.match(r"^(WN\.\d+)\.cond_layers\.(\d+)\.(weight_g|weight_v|weight|bias)$", k)
        if m:
            groups.setdefault((m.group(1), m.group(3)), {})[int(m.group(2))] = v
        else:
            out[k] = v
    for (prefix, leaf), per_layer in groups.items():
        idx = sorted(per_layer)
        if idx != list(range(len(idx))):
            raise ValueError(f"{prefix}.cond_layers indices are not 0..{len(idx) - 1}: {idx}")
        out[f"{prefix}.cond_layer.{leaf}"] = torch.cat([per_layer[i] for i in idx], 0)
    return out


def split_cond_layer(state_dict, n_layers):
    """The inverse of fuse_cond_layers: WN.k.cond_layer.* -> WN.k.cond_layers.i.*."""
    import re
    out = {}
    for k, v in state_dict.items():
        m = re.match(r"^(WN\.\d+)\.cond_layer\.(weight_g|weight_v|weight|bias)$", k)
        if not m:
            out[k] = v
            continue
        for i, part in enumerate(torch.chunk(v, n_layers, 0)):
            out[f"{m.group(1)}.cond_layers.{i}.{m.group(2)}"] = part.clone()
    return out
