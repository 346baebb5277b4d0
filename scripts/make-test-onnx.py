"""Writes tests/fixtures/affine.onnx, the ONNX Runtime smoke-test model: y = x @ W + b.

W and b are small integers so the expected output is exact in f32; tests/analyze.rs holds
the same numbers. Needs `pip install onnx`; the .onnx file is committed, so CI does not.
"""
import onnx
from onnx import TensorProto, helper

W = [[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]  # 2 × 3
B = [0.5, 0.0, -2.0]

graph = helper.make_graph(
    [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["y"]),
    ],
    "affine",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
    [
        helper.make_tensor("W", TensorProto.FLOAT, [2, 3], [v for row in W for v in row]),
        helper.make_tensor("b", TensorProto.FLOAT, [3], B),
    ],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="stackscope")
model.ir_version = 8
helper.set_model_props(model, {"purpose": "stackscope ort smoke test"})
onnx.checker.check_model(model)
onnx.save(model, "tests/fixtures/affine.onnx")
