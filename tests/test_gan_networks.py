"""The pix2pix/cycleGAN networks: any size that fits their stride, the 70x70 patch, init, dropout, checkpoints."""
import pytest
import torch

from models.checkpoint import load_checkpoint, save_checkpoint
from models.gan.networks import (PatchDiscriminator, PatchDiscriminatorConfig, ResnetGenerator,
                                 ResnetGeneratorConfig, UnetGenerator, UnetGeneratorConfig, parameter_bytes)

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


@pytest.mark.parametrize("height,width,depth", [(96, 160, 5), (64, 32, 4), (256, 192, 6)])
def test_unet_keeps_any_size_that_is_a_multiple_of_two_to_the_depth(height, width, depth):
    generator = UnetGenerator(UnetGeneratorConfig(in_channels=4, out_channels=3, width=8, depth=depth)).eval()
    output = generator(torch.randn(2, 4, height, width))
    assert output.shape == (2, 3, height, width)
    assert output.abs().max() <= 1.0  # tanh: images in [-1, 1]


def test_unet_names_the_multiple_when_a_side_does_not_fit():
    generator = UnetGenerator(UnetGeneratorConfig(width=8, depth=5))
    with pytest.raises(ValueError, match="multiple of 32"):
        generator(torch.randn(1, 3, 96, 100))


def test_unet_output_pixel_depends_on_the_input_pixel_beneath_it():
    # Through the skip connections, an output pixel sees the input right under it, not only the bottleneck.
    generator = UnetGenerator(UnetGeneratorConfig(width=8, depth=4, dropout=0.0)).eval()
    image = torch.randn(1, 3, 64, 64, requires_grad=True)
    generator(image)[0, :, 40, 21].sum().backward()
    influence = image.grad.abs().sum(1)[0]
    assert influence[40, 21] > 0
    assert influence[39:43, 19:23].mean() > influence.mean()


def test_dropout_sits_only_in_the_inner_decoder_blocks_and_stops_at_eval():
    generator = UnetGenerator(UnetGeneratorConfig(width=8, depth=6, dropout_blocks=3))
    dropout_blocks = [i for i, block in enumerate(generator.up) if any(isinstance(m, torch.nn.Dropout)
                                                                       for m in block.modules())]
    # up[0] is the bottleneck's own upsampling; the next three decoder blocks drop out, the outer ones never.
    assert dropout_blocks == [1, 2, 3]
    image = torch.randn(1, 3, 64, 64)
    generator.train()
    assert not torch.equal(generator(image), generator(image))
    generator.eval()
    assert torch.equal(generator(image), generator(image))


def _force_gate(generator: UnetGenerator, logit: float) -> None:
    last = generator.up[-1][1]  # the outermost transposed conv; its last output channel is the gate
    with torch.no_grad():
        last.weight[:, -1] = 0.0
        last.bias[-1] = logit


def test_an_open_input_gate_passes_the_input_through_and_a_shut_one_generates():
    generator = UnetGenerator(UnetGeneratorConfig(in_channels=4, width=8, depth=4, input_gate=True)).eval()
    image = torch.rand(1, 4, 64, 64) * 2 - 1
    _force_gate(generator, 40.0)
    with torch.no_grad():
        assert torch.allclose(generator(image), image[:, :3], atol=1e-6)  # the photo's channels, not the mask's
    _force_gate(generator, -40.0)
    with torch.no_grad():
        generated = generator(image)
    assert generated.shape == (1, 3, 64, 64) and generated.abs().max() <= 1.0
    assert (generated - image[:, :3]).abs().mean() > 0.1


def test_the_gate_logits_are_those_of_the_gate_the_output_used():
    generator = UnetGenerator(UnetGeneratorConfig(width=8, depth=4, input_gate=True)).eval()
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    _force_gate(generator, 3.0)
    with torch.no_grad():
        output, logits = generator(image, with_gate_logits=True)
        assert torch.equal(output, generator(image))
    assert logits.shape == (1, 1, 64, 64) and torch.allclose(logits, torch.full_like(logits, 3.0))
    with pytest.raises(ValueError, match="input_gate"):
        UnetGenerator(UnetGeneratorConfig(width=8, depth=4))(image, with_gate_logits=True)


def test_a_white_gate_draws_where_it_is_open_and_leaves_exact_white_where_it_is_shut():
    generator = UnetGenerator(UnetGeneratorConfig(in_channels=4, width=8, depth=4, white_gate=True)).eval()
    image = torch.rand(1, 4, 64, 64) * 2 - 1
    _force_gate(generator, -40.0)
    with torch.no_grad():
        assert torch.equal(generator(image), torch.ones(1, 3, 64, 64))
    _force_gate(generator, 40.0)
    with torch.no_grad():
        drawn, logits = generator(image, with_gate_logits=True)
    assert drawn.shape == (1, 3, 64, 64) and drawn.abs().max() <= 1.0
    assert (drawn - 1).abs().mean() > 0.1 and (drawn - image[:, :3]).abs().mean() > 0.1  # neither white nor input
    assert torch.allclose(logits, torch.full_like(logits, 40.0))


def test_a_global_gate_is_decoded_at_the_image_size_and_is_hard_at_inference():
    generator = UnetGenerator(UnetGeneratorConfig(in_channels=4, width=8, depth=5, white_gate=True,
                                                  global_gate=True))
    for height, width in ((128, 96), (256, 192)):
        image = torch.rand(2, 4, height, width) * 2 - 1
        generator.train()
        with torch.no_grad():
            soft, logits = generator(image, with_gate_logits=True)
        assert logits.shape == (2, 1, height, width)
        generator.eval()
        with torch.no_grad():
            hard, eval_logits = generator(image, with_gate_logits=True)
        shut = (eval_logits <= 0).expand_as(hard)
        assert torch.equal(hard[shut], torch.ones_like(hard[shut]))  # exact white where the gate is shut
        assert (hard[~shut] < 1).float().mean() > 0.9  # drawn where it is open
        blended = (soft > -1) & (soft < 1)
        assert blended.float().mean() > 0.5  # in training the gate blends softly, so it has gradients


def test_a_global_gate_needs_a_white_gate():
    with pytest.raises(ValueError, match="white_gate too"):
        UnetGenerator(UnetGeneratorConfig(width=8, depth=4, global_gate=True))


def test_a_unet_has_one_gate_at_most():
    with pytest.raises(ValueError, match="one gate"):
        UnetGenerator(UnetGeneratorConfig(width=8, depth=4, input_gate=True, white_gate=True))


def test_an_input_gate_needs_as_many_input_channels_as_it_copies():
    with pytest.raises(ValueError, match="input has only 1"):
        UnetGenerator(UnetGeneratorConfig(in_channels=1, out_channels=3, width=8, depth=4, input_gate=True))


def test_resnet_generator_keeps_sizes_that_fit_its_two_downsamplings():
    generator = ResnetGenerator(ResnetGeneratorConfig(width=8, blocks=2)).eval()
    assert generator(torch.randn(1, 3, 100, 76)).shape == (1, 3, 100, 76)
    with pytest.raises(ValueError, match="multiple of 4"):
        generator(torch.randn(1, 3, 100, 78))


def test_patch_discriminator_sees_70_by_70_pixel_patches():
    critic = PatchDiscriminator(PatchDiscriminatorConfig(in_channels=3, width=8, strided_layers=3)).eval()
    image = torch.randn(1, 3, 256, 256, requires_grad=True)
    logits = critic(image)
    assert logits.shape == (1, 1, 30, 30)
    logits[0, 0, 15, 15].backward()
    rows = torch.nonzero(image.grad.abs().sum((0, 1)).sum(1)).flatten()
    columns = torch.nonzero(image.grad.abs().sum((0, 1)).sum(0)).flatten()
    assert rows[-1] - rows[0] + 1 == 70 and columns[-1] - columns[0] + 1 == 70


def test_weights_start_from_a_normal_with_standard_deviation_0_02():
    generator = UnetGenerator(UnetGeneratorConfig(width=32, depth=6))
    weights = torch.cat([m.weight.flatten() for m in generator.modules()
                         if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))])
    assert abs(weights.mean().item()) < 1e-3
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)


def test_cpu_sized_generators_fit_the_20_mb_budget_and_the_paper_sizes_do_not(tmp_path):
    shipped = UnetGenerator(UnetGeneratorConfig(in_channels=4, width=16, depth=6))
    save_checkpoint(tmp_path / "g.pt", shipped)
    assert (tmp_path / "g.pt").stat().st_size <= 20 * MB
    assert abs((tmp_path / "g.pt").stat().st_size - parameter_bytes(shipped)) < 0.05 * parameter_bytes(shipped)
    assert parameter_bytes(UnetGenerator(UnetGeneratorConfig())) > 20 * MB  # pix2pix's own 256 px U-Net
    assert parameter_bytes(ResnetGenerator(ResnetGeneratorConfig(width=32, blocks=6))) <= 20 * MB


@pytest.mark.parametrize("model", [
    UnetGenerator(UnetGeneratorConfig(in_channels=4, width=8, depth=4, norm="batch")),
    UnetGenerator(UnetGeneratorConfig(width=8, depth=4, input_gate=True)),
    UnetGenerator(UnetGeneratorConfig(in_channels=4, width=8, depth=4, white_gate=True)),
    UnetGenerator(UnetGeneratorConfig(in_channels=4, width=8, depth=5, white_gate=True, global_gate=True)),
    ResnetGenerator(ResnetGeneratorConfig(width=8, blocks=1)),
    PatchDiscriminator(PatchDiscriminatorConfig(in_channels=7, width=8, norm="instance")),
])
def test_each_network_round_trips_through_the_weights_only_checkpoint(model, tmp_path):
    model.eval()
    save_checkpoint(tmp_path / "model.pt", model, size=[64, 64])
    loaded, payload = load_checkpoint(tmp_path / "model.pt")
    assert type(loaded) is type(model) and payload["arch"] == model.ARCH
    image = torch.randn(1, model.config.in_channels, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(image), model(image))
