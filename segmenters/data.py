"""Pairs on the device: decoded once, moved in one copy, cropped and flipped there as one gather per batch, and
handed to the model as MMSegmentation's inputs and data samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from bench.core.errors import BenchError
from bench.core.pairset import PairSet
from bench.core.streams import BATCHES, PAIRED, named_seed


def stack_pairs(sets: Sequence[PairSet]) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of the sets, decoded once: N x H x W x 3 images and N x H x W masks of one size."""
    images, masks = [], []
    for pair_set in sets:
        for pair in pair_set:
            images.append(pair.image)
            masks.append(pair.mask)
    if not images:
        raise BenchError("no training pairs", "check the split and the generator output")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise BenchError(f"training images differ in size ({sorted(shapes)[:3]})",
                         "give the task one picture size: --image-size S or WxH (grid key image_size) resizes at import")
    return np.stack(images), np.stack(masks)


def to_device(images: np.ndarray, masks: np.ndarray | None, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """N x H x W x 3 uint8 images (and N x H x W masks) as N x 3 x H x W (and N x H x W) uint8 tensors on
    ``device``, each moved in one copy: the training set once per run, a test batch once per batch."""
    image_tensor = torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).contiguous()
    mask_tensor = None if masks is None else torch.from_numpy(np.ascontiguousarray(masks)).to(device)
    return image_tensor, mask_tensor


def batch_inputs(images: torch.Tensor, masks: torch.Tensor | None) -> dict:
    """B x 3 x H x W uint8 images (and B x H x W masks) as the inputs and data samples of
    ``model.train_step``/``test_step``: one CHW view per sample, labels as long ``gt_sem_seg``."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    h, w = images.shape[-2:]
    labels = None if masks is None else masks.long()
    samples = []
    for i in range(len(images)):
        sample = SegDataSample(metainfo={"img_shape": (h, w), "ori_shape": (h, w), "pad_shape": (h, w)})
        if labels is not None:
            sample.gt_sem_seg = PixelData(data=labels[i, None])
        samples.append(sample)
    return {"inputs": list(images.unbind(0)), "data_samples": samples}


def model_inputs(images: np.ndarray, masks: np.ndarray | None, device: torch.device) -> dict:
    """N x H x W x 3 uint8 numpy images (and masks) as the inputs and data samples of ``model.train_step``/``test_step``."""
    return batch_inputs(*to_device(images, masks, device))


@dataclass(frozen=True)
class BatchDraw:
    """The random numbers of one training batch: which images, where the crop starts, which flips."""

    index: np.ndarray  # B image indices into the training set
    top: np.ndarray  # B crop rows (0 without a crop)
    left: np.ndarray  # B crop columns
    hflip: np.ndarray  # B bools: reverse columns
    vflip: np.ndarray  # B bools: reverse rows
    size: tuple[int, int]  # (h, w) of every output sample


def draw_batch(
    rng: np.random.Generator, num_images: int, batch_size: int, image_size: tuple[int, int], crop: int | None
) -> BatchDraw:
    """Sample a batch: with replacement only when there are fewer images than the batch; a ``crop`` square
    when both image sides exceed it, else the whole image; horizontal and vertical flips with p = 0.5."""
    height, width = image_size
    index = rng.choice(num_images, size=batch_size, replace=num_images < batch_size)
    if crop is not None and min(height, width) > crop:
        top = rng.integers(0, height - crop + 1, size=batch_size)
        left = rng.integers(0, width - crop + 1, size=batch_size)
        size = (crop, crop)
    else:
        top = left = np.zeros(batch_size, np.int64)
        size = (height, width)
    hflip, vflip = rng.random((2, batch_size)) < 0.5
    return BatchDraw(index, top, left, hflip, vflip, size)


def added_slots(iteration: int, batch_size: int, real: int, added: int) -> int:
    """How many slots of batch ``iteration`` go to added pairs under paired batches: the proportional share,
    floor((i + 1) B s) - floor(i B s) with s = added / (real + added), so every batch holds the share that a
    draw from all pairs holds on average, and the real pairs keep the rest."""
    total = real + added
    return ((iteration + 1) * batch_size * added) // total - (iteration * batch_size * added) // total


class BatchSampler:
    """The batches of one training run over ``real`` real pairs followed by ``added`` added ones (synthetic,
    defect-free), in the mode ``batches`` (``bench.core.streams.BATCHES``).

    Paired: the real stream (seeded ``real_seed``) draws every batch exactly as a run without added pairs
    does, and the last ``added_slots`` of its slots are replaced by pairs drawn, with their crops and flips,
    from a stream of their own (seeded from ``added_seed`` by name). So a setting trains on the same real
    pairs, crops and flips, in the same batch positions, as its real-only baseline of the same seed. Pooled,
    or with nothing to pair: one stream (``real_seed``) draws every slot from all pairs."""

    def __init__(self, batches: str, real: int, added: int, batch_size: int, image_size: tuple[int, int], crop: int | None,
                 real_seed: int, added_seed: int):
        if batches not in BATCHES:
            raise ValueError(f"batches must be one of {BATCHES}, got {batches!r}")
        self.paired = batches == PAIRED and real > 0 and added > 0
        self.real, self.added, self.batch_size, self.image_size, self.crop = real, added, batch_size, image_size, crop
        self.real_stream = np.random.default_rng(real_seed)
        self.added_stream = np.random.default_rng(named_seed(added_seed, "added pairs"))

    def draw(self, iteration: int) -> BatchDraw:
        if not self.paired:
            return draw_batch(self.real_stream, self.real + self.added, self.batch_size, self.image_size, self.crop)
        real = draw_batch(self.real_stream, self.real, self.batch_size, self.image_size, self.crop)
        k = added_slots(iteration, self.batch_size, self.real, self.added)
        if not k:
            return real
        added = draw_batch(self.added_stream, self.added, k, self.image_size, self.crop)
        keep = self.batch_size - k
        return BatchDraw(np.concatenate([real.index[:keep], self.real + added.index]),
                         *(np.concatenate([getattr(real, f)[:keep], getattr(added, f)]) for f in ("top", "left", "hflip", "vflip")),
                         real.size)


def _numbers_to(device: torch.device, *arrays: np.ndarray) -> torch.Tensor:
    """Small per-batch numbers as one int64 tensor on ``device``; on CUDA through pinned memory without
    waiting, so the host never stalls on the GPU queue."""
    numbers = torch.from_numpy(np.stack(arrays).astype(np.int64))
    if device.type != "cuda":
        return numbers
    return numbers.pin_memory().to(device, non_blocking=True)


def augment(images: torch.Tensor, masks: torch.Tensor, draw: BatchDraw) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop and flip a whole batch where the data lives, as one gather: each sample reads its window's rows
    and columns, in reverse order where flipped. ``images`` N x C x H x W, ``masks`` N x H x W (any dtype);
    returns B x C x h x w and B x h x w."""
    h, w = draw.size
    index, top, left, hflip, vflip = _numbers_to(images.device, draw.index, draw.top, draw.left, draw.hflip, draw.vflip)
    rows = torch.arange(h, device=images.device)
    cols = torch.arange(w, device=images.device)
    rows = top[:, None] + torch.where(vflip[:, None].bool(), h - 1 - rows, rows)  # B x h
    cols = left[:, None] + torch.where(hflip[:, None].bool(), w - 1 - cols, cols)  # B x w
    channels = torch.arange(images.shape[1], device=images.device)
    n = index[:, None, None, None]
    batch_images = images[n, channels[None, :, None, None], rows[:, None, :, None], cols[:, None, None, :]]
    batch_masks = masks[index[:, None, None], rows[:, :, None], cols[:, None, :]]
    return batch_images, batch_masks
