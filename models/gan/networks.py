"""Image-to-image networks: the pix2pix U-Net generator, the cycleGAN ResNet generator and the PatchGAN critic.

All three follow the designs of Isola et al. 2017 (pix2pix) and Zhu et al. 2017 (cycleGAN), sized by config so
that they fit a CPU. Generators end in tanh (images in [-1, 1]); the discriminator returns one logit per patch.
Weights start from N(0, 0.02), norm scales from N(1, 0.02).
"""
from dataclasses import dataclass

import torch
import torch.nn as nn

from models.layers import StoredConfig

NORMS = ("instance", "batch")


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        # Affine and without running stats, so train and eval behave alike.
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """N(0, std) for convolutions, N(1, std) for norm scales, zero biases."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm2d, nn.InstanceNorm2d)) and layer.weight is not None:
            nn.init.normal_(layer.weight, 1.0, std)
            nn.init.zeros_(layer.bias)


# ---- U-Net generator --------------------------------------------------------------------------------------------
@dataclass
class UnetGeneratorConfig:
    in_channels: int = 3
    out_channels: int = 3
    width: int = 64  # channels of the first level; each level doubles it up to width * max_multiplier
    depth: int = 8  # levels; each input side must be a multiple of 2**depth
    max_multiplier: int = 8
    norm: str = "batch"
    dropout_blocks: int = 3  # dropout(0.5) in this many decoder blocks just above the bottleneck
    dropout: float = 0.5
    # A per-pixel gate g in [0, 1] beside the output: g * input + (1 - g) * generated. For tasks whose output keeps
    # the input's pixels (the human extractor), the generator then decides where, not how to redraw them.
    input_gate: bool = False
    # Or g * generated + (1 - g) * white: for outputs that are one object on white (the garment extractor), the gate
    # is the object's silhouette and everything outside it is exactly white.
    white_gate: bool = False
    # With white_gate: decode the gate from the bottleneck alone (a whole-image code, no skips) instead of the
    # output layer. A product photo's silhouette is a whole-garment decision (sleeve length, cut); the skips would
    # tie it to where the garment lies in the input.
    global_gate: bool = False

    @property
    def gated(self) -> bool:
        return self.input_gate or self.white_gate

    @property
    def size_multiple(self) -> int:
        return 2 ** self.depth


class UnetGenerator(StoredConfig, nn.Module):
    """Encoder of stride-2 4x4 convs, decoder of stride-2 4x4 transposed convs, skips between mirrored levels.

    Each stride-2 layer halves or doubles a side exactly, so any side that is a multiple of 2**depth works.
    With config.input_gate (or white_gate) the last layer also predicts the gate that blends the input's first
    out_channels channels (or white) into the output; with global_gate a GlobalGateHead predicts it instead.
    """
    ARCH = "unet_generator"

    def __init__(self, config: UnetGeneratorConfig = None):
        super().__init__()
        self.config = config = config or UnetGeneratorConfig()
        if config.depth < 2:
            raise ValueError(f"U-Net depth {config.depth}: needs at least 2 levels")
        if config.norm not in NORMS:
            raise ValueError(f"unknown norm {config.norm!r}; choose one of {', '.join(NORMS)}")
        if config.input_gate and config.white_gate:
            raise ValueError("a U-Net has one gate: input_gate or white_gate, not both")
        if config.global_gate and not config.white_gate:
            raise ValueError("global_gate decodes a white gate; build the U-Net with white_gate too")
        if config.input_gate and config.in_channels < config.out_channels:
            raise ValueError(f"an input gate copies the input's first {config.out_channels} channels, but the "
                             f"input has only {config.in_channels}")
        widths = [config.width * min(2 ** level, config.max_multiplier) for level in range(config.depth)]
        self.down = nn.ModuleList()
        previous = config.in_channels
        for level, width in enumerate(widths):
            # Not in place: the previous level's output is kept as its skip.
            layers = [] if level == 0 else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(previous, width, 4, 2, 1, bias=level in (0, config.depth - 1)))
            # No norm on the first level (as in pix2pix) nor at the 1-pixel-wide bottleneck.
            if 0 < level < config.depth - 1:
                layers.append(norm_layer(config.norm, width))
            self.down.append(nn.Sequential(*layers))
            previous = width
        self.up = nn.ModuleList()
        for level in reversed(range(config.depth)):
            incoming = widths[level] if level == config.depth - 1 else 2 * widths[level]
            if level == 0:
                outputs = config.out_channels + (1 if config.gated and not config.global_gate else 0)
                layers = [nn.ReLU(inplace=True), nn.ConvTranspose2d(incoming, outputs, 4, 2, 1)]
                if not config.gated:
                    layers.append(nn.Tanh())
            else:
                layers = [nn.ReLU(inplace=True),
                          nn.ConvTranspose2d(incoming, widths[level - 1], 4, 2, 1, bias=False),
                          norm_layer(config.norm, widths[level - 1])]
                blocks_from_bottom = config.depth - 1 - level
                if 0 < blocks_from_bottom <= config.dropout_blocks and config.dropout > 0:
                    layers.append(nn.Dropout(config.dropout))
            self.up.append(nn.Sequential(*layers))
        self.gate_head = GlobalGateHead(widths[-1], config.width, config.norm) if config.global_gate else None
        init_normal(self)

    def forward(self, image: torch.Tensor, with_gate_logits: bool = False):
        """The output image; with with_gate_logits (gated networks only), (output, gate logits before the sigmoid)
        so that a trainer can supervise the gate directly."""
        if with_gate_logits and not self.config.gated:
            raise ValueError("with_gate_logits needs a U-Net built with input_gate or white_gate")
        if not self.config.gated:
            return self._decode(image)[0]
        drawn, gate_logits = self.drawn_and_gate_logits(image)
        if self.config.input_gate:
            gate = torch.sigmoid(gate_logits)
            output = gate * image[:, :self.config.out_channels] + (1 - gate) * drawn
        elif self.training:
            gate = torch.sigmoid(gate_logits)
            output = gate * drawn + (1 - gate)  # white is 1 in [-1, 1]
        else:
            # Crisp edges at inference, as a product photo has: a soft edge would grey the white around the
            # silhouette and widen it.
            output = torch.where(gate_logits > 0, drawn, torch.ones_like(drawn))
        return (output, gate_logits) if with_gate_logits else output

    def drawn_and_gate_logits(self, image: torch.Tensor):
        """A gated network's two parts before they are blended: the drawn image (tanh, [-1, 1]) and the gate
        logits, both at the input's size, for a renderer that blends them itself (generated_picture)."""
        if not self.config.gated:
            raise ValueError("drawn_and_gate_logits needs a U-Net built with input_gate or white_gate")
        x, bottleneck = self._decode(image)
        channels = self.config.out_channels
        gate_logits = self.gate_head(bottleneck, image.shape[-2:]) if self.gate_head else x[:, channels:]
        return torch.tanh(x[:, :channels]), gate_logits

    def _decode(self, image: torch.Tensor):
        """The last decoder layer's output and the bottleneck."""
        multiple = self.config.size_multiple
        if image.shape[-2] % multiple or image.shape[-1] % multiple:
            raise ValueError(f"U-Net input {tuple(image.shape[-2:])}: each side must be a multiple of {multiple} "
                             f"(depth {self.config.depth}); pad or resize the image")
        skips = []
        x = image
        for block in self.down:
            x = block(x)
            skips.append(x)
        bottleneck = skips.pop()
        x = self.up[0](bottleneck)
        for block in self.up[1:]:
            x = block(torch.cat([x, skips.pop()], dim=1))
        return x, bottleneck


class GlobalGateHead(nn.Module):
    """The U-Net bottleneck pooled to a GATE_GRID code, through a fully connected layer, and decoded by
    upsampling convolutions into gate logits at the image's size (any size the U-Net takes)."""
    GATE_GRID = (4, 3)  # rows, columns: the aspect of the 192x256 product photos
    HIDDEN = 256

    def __init__(self, bottleneck_channels: int, width: int, norm: str):
        super().__init__()
        rows, columns = self.GATE_GRID
        self.code_channels = 4 * width
        self.code = nn.Sequential(nn.Flatten(), nn.Linear(bottleneck_channels * rows * columns, self.HIDDEN),
                                  nn.ReLU(inplace=True),
                                  nn.Linear(self.HIDDEN, self.code_channels * rows * columns), nn.ReLU(inplace=True))
        layers, channels = [], self.code_channels
        for next_channels in (4 * width, 2 * width, width, width):  # 4x3 -> 64x48
            layers += [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                       nn.Conv2d(channels, next_channels, 3, 1, 1, bias=False), norm_layer(norm, next_channels),
                       nn.ReLU(inplace=True)]
            channels = next_channels
        layers.append(nn.Conv2d(channels, 1, 3, 1, 1))
        self.decode = nn.Sequential(*layers)

    def forward(self, bottleneck: torch.Tensor, size_hw) -> torch.Tensor:
        pooled = nn.functional.adaptive_avg_pool2d(bottleneck, self.GATE_GRID)
        code = self.code(pooled).view(-1, self.code_channels, *self.GATE_GRID)
        logits = self.decode(code)
        return nn.functional.interpolate(logits, size=tuple(size_hw), mode="bilinear", align_corners=False)


# ---- ResNet generator -------------------------------------------------------------------------------------------
@dataclass
class ResnetGeneratorConfig:
    in_channels: int = 3
    out_channels: int = 3
    width: int = 64
    blocks: int = 9  # residual blocks at the lowest resolution (9 for 256 px in cycleGAN, 6 for 128 px)
    downsamplings: int = 2  # each input side must be a multiple of 2**downsamplings
    norm: str = "instance"
    dropout: float = 0.0

    @property
    def size_multiple(self) -> int:
        return 2 ** self.downsamplings


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: str, dropout: float):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), norm_layer(norm, channels),
                  nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), norm_layer(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(StoredConfig, nn.Module):
    """7x7 stem, stride-2 downsamplings, residual blocks, mirrored transposed-conv upsamplings, 7x7 tanh head."""
    ARCH = "resnet_generator"

    def __init__(self, config: ResnetGeneratorConfig = None):
        super().__init__()
        self.config = config = config or ResnetGeneratorConfig()
        if config.norm not in NORMS:
            raise ValueError(f"unknown norm {config.norm!r}; choose one of {', '.join(NORMS)}")
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(config.in_channels, config.width, 7, bias=False),
                  norm_layer(config.norm, config.width), nn.ReLU(inplace=True)]
        width = config.width
        for _ in range(config.downsamplings):
            layers += [nn.Conv2d(width, 2 * width, 3, 2, 1, bias=False), norm_layer(config.norm, 2 * width),
                       nn.ReLU(inplace=True)]
            width *= 2
        layers += [ResidualBlock(width, config.norm, config.dropout) for _ in range(config.blocks)]
        for _ in range(config.downsamplings):
            layers += [nn.ConvTranspose2d(width, width // 2, 3, 2, 1, output_padding=1, bias=False),
                       norm_layer(config.norm, width // 2), nn.ReLU(inplace=True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, config.out_channels, 7), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        multiple = self.config.size_multiple
        if image.shape[-2] % multiple or image.shape[-1] % multiple:
            raise ValueError(f"ResNet generator input {tuple(image.shape[-2:])}: each side must be a multiple of "
                             f"{multiple}; pad or resize the image")
        return self.body(image)


# ---- PatchGAN discriminator -------------------------------------------------------------------------------------
@dataclass
class PatchDiscriminatorConfig:
    in_channels: int = 6  # pix2pix: input and output stacked; cycleGAN: one image
    width: int = 64
    strided_layers: int = 3  # 3 gives the 70x70 receptive field
    norm: str = "batch"


class PatchDiscriminator(StoredConfig, nn.Module):
    """Fully convolutional critic: one real/fake logit per overlapping patch (70x70 pixels with 3 strided layers)."""
    ARCH = "patch_discriminator"

    def __init__(self, config: PatchDiscriminatorConfig = None):
        super().__init__()
        self.config = config = config or PatchDiscriminatorConfig()
        if config.norm not in NORMS:
            raise ValueError(f"unknown norm {config.norm!r}; choose one of {', '.join(NORMS)}")
        layers = [nn.Conv2d(config.in_channels, config.width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        width = config.width
        for layer in range(1, config.strided_layers + 1):
            stride = 2 if layer < config.strided_layers else 1
            next_width = config.width * min(2 ** layer, 8)
            layers += [nn.Conv2d(width, next_width, 4, stride, 1, bias=False), norm_layer(config.norm, next_width),
                       nn.LeakyReLU(0.2, inplace=True)]
            width = next_width
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.body = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.body(image)


def receptive_field(config: PatchDiscriminatorConfig) -> int:
    """Side in pixels of the input patch that one output logit sees."""
    kernels_strides = [(4, 2)] + [(4, 2 if layer < config.strided_layers else 1)
                                  for layer in range(1, config.strided_layers + 1)] + [(4, 1)]
    field = 1
    for kernel, stride in reversed(kernels_strides):
        field = (field - 1) * stride + kernel
    return field


def parameter_bytes(model: nn.Module) -> int:
    """Size of the float32 weights, what a shipped checkpoint costs on disk (buffers included)."""
    return sum(t.numel() * 4 for t in list(model.parameters()) + list(model.buffers()) if t.is_floating_point())
