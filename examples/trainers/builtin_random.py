#!/usr/bin/env python3
"""The builtin trainer's random numbers in Python, for a trainer of the same network
(pytorch_cnn.py): its generator (SplitMix64 and Box-Muller normals, `Gaussian` in
Sources/Learning/Gaussian.swift), its initial weights (`Architecture.initialParameters`) and its
order of examples each epoch (`Trainer.order`). The same seed gives the same values, bit for bit:
`LearningTests` runs this file (`python3 builtin_random.py SEED EPOCH COUNT CHANNELS HEIGHT WIDTH
CONVOLUTIONS CLASSES` prints them as JSON, floats as their IEEE bits) against the Swift ones.
Standard library only.
"""
import json
import math
import struct
import sys

MASK = (1 << 64) - 1


class BuiltinRandom:
    def __init__(self, seed):
        self.state = (seed ^ 0x5851F42D4C957F2D) & MASK
        self.spare = None

    def uniform(self):
        """In (0, 1): the top 53 bits of a SplitMix64 output, plus a half."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        return ((z >> 11) + 0.5) / float(1 << 53)

    def normal(self):
        """Box-Muller: the cosine of a pair first, its sine the next call."""
        if self.spare is not None:
            value, self.spare = self.spare, None
            return value
        radius = math.sqrt(-2 * math.log(self.uniform()))
        angle = 2 * math.pi * self.uniform()
        self.spare = radius * math.sin(angle)
        return radius * math.cos(angle)


def float32(value):
    """A double rounded to float32, as Swift's Float(value)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def initial_weights(seed, channels, height, width, convolutions, classes):
    """The weights of each convolution (out x in x 3 x 3, He-normal) and of the dense head
    (classes x features, N(0, 1/features)), flattened in that order, as float32 values; the
    biases start at zero."""
    random = BuiltinRandom(seed)
    blocks = []
    for out in convolutions:
        scale = math.sqrt(2.0 / (channels * 9))
        blocks.append([float32(random.normal() * scale) for _ in range(out * channels * 9)])
        channels, height, width = out, height // 2, width // 2
    features = channels * height * width
    scale = math.sqrt(1.0 / features)
    blocks.append([float32(random.normal() * scale) for _ in range(classes * features)])
    return blocks


def order(count, seed, epoch):
    """The builtin trainer's order of `count` examples in `epoch` (from 1): a Fisher-Yates
    shuffle drawn from seed + 7919 * epoch."""
    random = BuiltinRandom((seed + epoch * 7919) & MASK)
    indices = list(range(count))
    for index in range(count - 1, 0, -1):
        other = int(random.uniform() * (index + 1)) % (index + 1)
        indices[index], indices[other] = indices[other], indices[index]
    return indices


if __name__ == "__main__":
    seed, epoch, count, channels, height, width = (int(a) for a in sys.argv[1:7])
    convolutions = [int(c) for c in sys.argv[7].split(",") if c]
    classes = int(sys.argv[8])
    double_bits = lambda x: struct.unpack("<Q", struct.pack("<d", x))[0]  # noqa: E731
    float_bits = lambda x: struct.unpack("<I", struct.pack("<f", x))[0]  # noqa: E731
    uniforms, normals = BuiltinRandom(seed), BuiltinRandom(seed)
    print(json.dumps({
        "uniforms": [double_bits(uniforms.uniform()) for _ in range(count)],
        "normals": [double_bits(normals.normal()) for _ in range(count)],
        "order": order(count, seed, epoch),
        "weights": [[float_bits(w) for w in block]
                    for block in initial_weights(seed, channels, height, width, convolutions, classes)],
    }))
