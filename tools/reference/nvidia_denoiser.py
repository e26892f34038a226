"""A PyTorch reference of NVIDIA/waveglow's denoiser.py and the tacotron2 stft.py it uses,
written for WaveKit's golden tests (same algorithm and conventions, float64 here):

STFT: the forward basis is the real and imaginary rows of the DFT of the identity
(filter_length x filter_length) for bins 0..filter_length/2, times a periodic Hann window
padded to filter_length; `transform` pads the signal by filter_length/2 on each side with
reflection and convolves with the basis at stride hop, giving magnitude and phase (atan2).
`inverse` rebuilds real and imaginary parts from magnitude and phase, transposed-convolves
with the pseudo-inverse of (filter_length / hop) x the basis (also windowed), divides by the
window's sum of squares where it is above the smallest float, multiplies by
filter_length / hop and trims filter_length/2 from both ends.

Denoiser: bias audio = waveglow.infer(zeros [1, n_mel, 88], sigma=0); its magnitude's first
frame is the bias spectrum; forward(audio, strength) subtracts strength x bias spectrum
from the magnitude, clamps at 0 and inverts with the original phase.
"""
import numpy as np
import torch
import torch.nn.functional as F


def hann_periodic(n):
    k = np.arange(n)
    return 0.5 - 0.5 * np.cos(2 * np.pi * k / n)


class STFT:
    def __init__(self, filter_length=1024, hop_length=256, win_length=1024, dtype=torch.float64):
        self.n, self.hop, self.win = filter_length, hop_length, win_length
        cutoff = filter_length // 2 + 1
        dft = np.fft.fft(np.eye(filter_length))
        basis = np.vstack([np.real(dft[:cutoff]), np.imag(dft[:cutoff])])
        inverse = np.linalg.pinv(filter_length / hop_length * basis).T
        window = np.zeros(filter_length)
        left = (filter_length - win_length) // 2
        window[left:left + win_length] = hann_periodic(win_length)
        self.window = window
        self.forward_basis = torch.tensor(basis * window, dtype=dtype)[:, None, :]
        self.inverse_basis = torch.tensor(inverse * window, dtype=dtype)[:, None, :]
        self.dtype = dtype

    def transform(self, audio):                        # [B, T] -> magnitude, phase [B, bins, frames]
        x = F.pad(audio[:, None, None, :], (self.n // 2, self.n // 2, 0, 0), mode="reflect")[:, 0]
        y = F.conv1d(x, self.forward_basis, stride=self.hop)
        cutoff = self.n // 2 + 1
        re, im = y[:, :cutoff], y[:, cutoff:]
        return torch.sqrt(re ** 2 + im ** 2), torch.atan2(im, re)

    def window_sumsquare(self, frames):
        total = self.n + self.hop * (frames - 1)
        x = np.zeros(total)
        sq = self.window ** 2
        for i in range(frames):
            s = i * self.hop
            x[s:min(total, s + self.n)] += sq[:max(0, min(self.n, total - s))]
        return x

    def inverse(self, magnitude, phase):
        y = torch.cat([magnitude * torch.cos(phase), magnitude * torch.sin(phase)], dim=1)
        out = F.conv_transpose1d(y, self.inverse_basis, stride=self.hop)
        wss = self.window_sumsquare(magnitude.shape[-1])
        nz = np.where(wss > np.finfo(np.float32).tiny)[0]
        out[:, :, nz] /= torch.tensor(wss[nz], dtype=self.dtype)
        out *= float(self.n) / self.hop
        return out[:, :, self.n // 2: -(self.n // 2)]


class Denoiser:
    def __init__(self, waveglow, n_mel=80, frames=88, dtype=torch.float64):
        self.stft = STFT(dtype=dtype)
        with torch.no_grad():
            bias_audio = waveglow.infer(torch.zeros(1, n_mel, frames, dtype=dtype), sigma=0.0)
            spec, _ = self.stft.transform(bias_audio)
        self.bias_audio = bias_audio
        self.bias_spec = spec[:, :, 0][:, :, None]

    def __call__(self, audio, strength=0.1):
        spec, angles = self.stft.transform(audio)
        cleaned = torch.clamp(spec - self.bias_spec * strength, min=0.0)
        return self.stft.inverse(cleaned, angles)[:, 0]
