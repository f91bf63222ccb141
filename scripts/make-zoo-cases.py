#!/usr/bin/python3
"""Whole-model ONNX test cases of the model zoo's architectures, made offline.

Nothing can be downloaded here, so the model zoo's files are out of reach;
torchvision (Debian: python3-torchvision) builds the same architectures with
seeded random weights, torch.onnx.export writes them, and PyTorch computes
the expected output of one 224x224 image. The folders have the layout of the
ONNX backend cases, for `npm run conformance -- DIR`:

    DIR/<name>/model.onnx
    DIR/<name>/test_data_set_0/input_0.pb, output_0.pb

Usage: /usr/bin/python3 scripts/make-zoo-cases.py DIR [name ...]  (Debian python3 with python3-torchvision and python3-onnx)
"""
import os
import sys

import torch
import torchvision
from onnx import numpy_helper

# name -> (constructor, opset). Batch-norm statistics are randomised too, so
# the folded scale and shift are not the identity.
MODELS = {
    'alexnet': (lambda: torchvision.models.alexnet(), 11),
    'vgg16': (lambda: torchvision.models.vgg16(), 11),
    'resnet18': (lambda: torchvision.models.resnet18(), 11),
    'squeezenet1_1': (lambda: torchvision.models.squeezenet1_1(), 9),
    'googlenet': (lambda: torchvision.models.googlenet(aux_logits=False, init_weights=True, transform_input=False), 11),
    'densenet121': (lambda: torchvision.models.densenet121(), 11),
    'mobilenet_v2': (lambda: torchvision.models.mobilenet_v2(), 11),
}


def randomise_batch_norm(model: torch.nn.Module, gen: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def make(out_dir: str, name: str) -> None:
    build, opset = MODELS[name]
    torch.manual_seed(0)
    model = build().eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        randomise_batch_norm(model, gen)
        x = torch.rand(1, 3, 224, 224, generator=gen)
        y = model(x)
    case = os.path.join(out_dir, name)
    data = os.path.join(case, 'test_data_set_0')
    os.makedirs(data, exist_ok=True)
    torch.onnx.export(model, x, os.path.join(case, 'model.onnx'), opset_version=opset,
                      input_names=['input'], output_names=['output'], do_constant_folding=True)
    with open(os.path.join(data, 'input_0.pb'), 'wb') as f:
        f.write(numpy_helper.from_array(x.numpy(), 'input').SerializeToString())
    with open(os.path.join(data, 'output_0.pb'), 'wb') as f:
        f.write(numpy_helper.from_array(y.numpy(), 'output').SerializeToString())
    print(f'{name}: {case} (opset {opset}, output {list(y.shape)})')


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    for name in names:
        if name not in MODELS:
            sys.exit(f'unknown model {name}; choose from {", ".join(MODELS)}')
        make(out_dir, name)


if __name__ == '__main__':
    main()
