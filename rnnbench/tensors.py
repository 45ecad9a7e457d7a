"""Torch tensors to numpy arrays, in one place for the API's inputs and the PyTorch comparators.

torch is optional: nothing here imports it; a tensor is recognized by its `detach` method.
"""


def is_tensor(value):
    """Whether `value` is a torch tensor (or anything else that detaches like one)."""
    return hasattr(value, "detach")


def to_numpy(tensor):
    """A tensor's values as a numpy array: detached from autograd, copied to the host from a GPU (no copy for
    a CPU tensor). TypeError for dtypes numpy has no type for (bfloat16)."""
    return tensor.detach().cpu().numpy()
