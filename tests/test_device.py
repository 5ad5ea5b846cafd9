"""Which device a command runs on (mer.device): names checked, the way on named when one is missing."""

from __future__ import annotations

import pytest
import torch

from mer.device import available_devices, module_device, resolve_device
from mer.errors import DeviceError


def test_the_cpu_is_always_there_and_auto_picks_an_available_device():
    assert "cpu" in available_devices() and resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in available_devices()


def test_an_unknown_or_missing_device_is_refused_with_the_way_on():
    with pytest.raises(DeviceError, match="Unknown device 'tpu'. Choose one of: .*cpu"):
        resolve_device("tpu")
    if "cuda" not in available_devices():
        with pytest.raises(DeviceError, match="not available here .*Use --device cpu"):
            resolve_device("cuda:0")


def test_a_modules_device_is_its_parameters():
    assert module_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
