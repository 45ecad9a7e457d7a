"""CellSpec: what distinguishes one recurrent cell from another (gate count, state, extra parameters)."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CellSpec:
    name: str
    gates: int                      # G: rows of weight_ih are G * H, in PyTorch's gate order
    has_cell_state: bool            # lstm and peephole carry c_t beside h_t
    # extra per-layer parameters beyond PyTorch's four: name -> shape as a function of H
    extra: dict = field(default_factory=dict)

    def param_shapes(self, input_size: int, hidden_size: int) -> dict:
        """Shapes of one layer's parameters, keyed by the name without the `_l{k}` suffix."""
        gh = self.gates * hidden_size
        shapes = {
            "weight_ih": (gh, input_size),
            "weight_hh": (gh, hidden_size),
            "bias_ih": (gh,),
            "bias_hh": (gh,),
        }
        for name, shape_of in self.extra.items():
            shapes[name] = shape_of(hidden_size)
        return shapes
