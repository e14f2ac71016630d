"""Inputs for the gru-import tests, made at test time:

    make_cases.py onnx DIR    ONNX GRU models (onnx.helper, random weights) and, for those that
                              ONNX Runtime runs, goldens of its outputs; models gru-import refuses
    make_cases.py onnx-models DIR  ONNX models of several layers or directions (chained GRU
                              nodes, reverse, bidirectional, per-row lengths) and model
                              goldens (GRUGOLD2) of ONNX Runtime's outputs for them
    make_cases.py onnx-state DIR  one GRU node with its initial_h fixed, zero or an input
    make_cases.py keras DIR   Keras 3 files (h5py, Keras's layout) gru-import refuses
    make_cases.py torch DIR   state dicts (safetensors, no torch needed): models of several
                              layers or directions, ones gru-import refuses, and F16/BF16 state
                              dicts beside the same values in F32
    make_cases.py torch-dynamo DIR  nn.GRU models exported by torch.onnx.export(dynamo=True)
                              (needs torch and onnxscript) and model goldens (GRUGOLD2) of
                              PyTorch's outputs for them

A golden (GRUGOLD1, tools/gru_golden.py) holds the problem in MLX layout and the reference
framework's output [N][L][H]; test/e2e/weights_check.c runs a library whose weights gru-import
wrote on the golden's x and h0 and compares.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
from gru_golden import GruProblem, write_golden  # noqa: E402
import safetensors_io  # noqa: E402


def rz_first(a, H):
    """Reorders gate blocks z, r, h (ONNX) to r, z, n (MLX) along the first axis."""
    order = np.r_[H:2 * H, 0:H, 2 * H:3 * H]
    return a[order]


# ---- ONNX -----------------------------------------------------------------------------------


class OnnxCase:
    def __init__(self, rng, D, H, N, L, bias, h0):
        s = 0.6
        self.D, self.H, self.N, self.L = D, H, N, L
        self.W = rng.uniform(-s, s, (1, 3 * H, D)).astype(np.float32)
        self.R = rng.uniform(-s, s, (1, 3 * H, H)).astype(np.float32)
        self.B = rng.uniform(-s, s, (1, 6 * H)).astype(np.float32) if bias else None
        self.x = rng.normal(0.0, 2.0, (N, L, D)).astype(np.float32)
        self.h0 = rng.uniform(-1, 1, (N, H)).astype(np.float32) if h0 else None

    def problem(self):
        """The same layer in MLX layout, written out independently of gru-import."""
        H = self.H
        b = bhn = None
        if self.B is not None:
            wb, rb = self.B[0, :3 * H], self.B[0, 3 * H:]
            b = rz_first(wb, H) + np.r_[rz_first(rb, H)[:2 * H], np.zeros(H, np.float32)]
            bhn = rb[2 * H:]
        return GruProblem(Wx=rz_first(self.W[0], H), Wh=rz_first(self.R[0], H), b=b, bhn=bhn,
                          x=self.x, h0=self.h0)


def gru_model(cases, const_nodes=False, seq_lens=False, graph_input_weights=False,
              initializer_inputs=False, **attrs):
    """A model with one GRU node per case, all on the same X [L][N][D] (layout 0), outputs Y<i>.
    Weights are initializers, or Constant nodes, or (to be refused) graph inputs; with
    initializer_inputs, initializers also listed as graph inputs (defaults, by ONNX)."""
    from onnx import TensorProto, helper, numpy_helper

    c0 = cases[0]
    L, N, D = c0.L, c0.N, c0.D
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [L, N, D])]
    outputs, nodes, inits = [], [], []
    if seq_lens:
        inits.append(numpy_helper.from_array(np.full(N, L, np.int32), "seq_lens"))
    for i, c in enumerate(cases):
        names = []
        for label, a in (("W", c.W), ("R", c.R), ("B", c.B)):
            if a is None:
                names.append("")
                continue
            name = f"{label}{i}"
            names.append(name)
            if graph_input_weights and label == "W":
                inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, a.shape))
            elif const_nodes:
                nodes.append(helper.make_node("Constant", [], [name],
                                              value=numpy_helper.from_array(a, name)))
            else:
                inits.append(numpy_helper.from_array(a, name))
                if initializer_inputs:
                    inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, a.shape))
        gin = ["X"] + names + ["seq_lens" if seq_lens else ""]
        if c.h0 is not None:
            gin.append(f"h0_{i}")
            inputs.append(helper.make_tensor_value_info(f"h0_{i}", TensorProto.FLOAT, [1, N, c.H]))
        while gin[-1] == "":
            gin.pop()
        nodes.append(helper.make_node("GRU", gin, [f"Y{i}"], name=f"gru_{'abcdefgh'[i]}",
                                      hidden_size=c.H, **attrs))
        outputs.append(helper.make_tensor_value_info(f"Y{i}", TensorProto.FLOAT,
                                                     [L, 1, N, c.H]))
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model


def ort_outputs(model, cases):
    """ONNX Runtime's Y for each GRU node, as [N][L][H]."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"X": np.ascontiguousarray(cases[0].x.transpose(1, 0, 2))}
    for i, c in enumerate(cases):
        if c.h0 is not None:
            feeds[f"h0_{i}"] = c.h0[None]
    ys = sess.run(None, feeds)
    return [y[:, 0].transpose(1, 0, 2) for y in ys]


def save(model, path):
    import onnx
    onnx.checker.check_model(model)
    onnx.save(model, path)


def onnx_cases(out):
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(5)
    lbr = dict(linear_before_reset=1)

    def runnable(stem, cases, lbr=lbr, **kw):
        for c in cases[1:]:  # every node reads the same X
            c.x = cases[0].x
        model = gru_model(cases, **kw, **lbr)
        save(model, os.path.join(out, stem + ".onnx"))
        for i, (c, y) in enumerate(zip(cases, ort_outputs(model, cases))):
            write_golden(os.path.join(out, f"{stem}_{i}.gold"), c.problem(), y)

    # Bias, a nonzero initial_h, N=3.
    bias = OnnxCase(rng, 7, 13, 3, 5, True, True)
    runnable("bias_n3_l5_h0", [bias])
    # No bias (B omitted), initial_h, N=2.
    runnable("nobias_n2_l9_h0", [OnnxCase(rng, 7, 13, 2, 9, False, True)])
    # Weights as Constant nodes, sequence_lens given (all L: a run-time input), no initial_h,
    # D > H, a long sequence.
    runnable("const_n1_l64", [OnnxCase(rng, 40, 16, 1, 64, True, False)],
             const_nodes=True, seq_lens=True)
    # Two GRU nodes: --node picks one.
    runnable("two_nodes", [OnnxCase(rng, 7, 13, 2, 6, True, True),
                           OnnxCase(rng, 7, 13, 2, 6, True, False)])
    # layout=1 changes only X/Y's axes, not the weights (ONNX Runtime does not run it).
    save(gru_model([bias], layout=1, **lbr), os.path.join(out, "layout1.onnx"))
    # Explicit default activations and direction are fine.
    save(gru_model([bias], activations=["Sigmoid", "Tanh"], direction="forward", **lbr),
         os.path.join(out, "explicit_defaults.onnx"))
    # Its weights initializers that are also graph inputs: converted, with a warning.
    save(gru_model([bias], initializer_inputs=True, **lbr),
         os.path.join(out, "initializer_inputs.onnx"))

    # Refused.
    c = OnnxCase(rng, 7, 13, 2, 5, True, False)
    save(gru_model([c], linear_before_reset=2), os.path.join(out, "lbr2.onnx"))
    save(gru_model([c], clip=3.0, **lbr), os.path.join(out, "clip.onnx"))
    save(gru_model([c], activations=["HardSigmoid", "Tanh"], **lbr),
         os.path.join(out, "activations.onnx"))
    save(gru_model([c], direction="reverse", **lbr), os.path.join(out, "reverse.onnx"))
    save(gru_model([c], graph_input_weights=True, **lbr), os.path.join(out, "w_input.onnx"))
    bi = OnnxCase(rng, 7, 13, 2, 5, True, False)
    bi.W = np.concatenate([bi.W, bi.W])
    bi.R = np.concatenate([bi.R, bi.R])
    bi.B = np.concatenate([bi.B, bi.B])
    save(gru_model([bi], direction="bidirectional", **lbr),
         os.path.join(out, "bidirectional.onnx"))
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3])
    relu = helper.make_graph([helper.make_node("Relu", ["X"], ["Y"])], "g", [x], [y])
    save(helper.make_model(relu), os.path.join(out, "relu.onnx"))
    with open(os.path.join(out, "garbage.onnx"), "wb") as f:
        f.write(b"\xff\xfe not a protobuf \x00" * 8)
    assert onnx.load(os.path.join(out, "lbr2.onnx")).graph.node[0].op_type == "GRU"
    # Attributes of another type than ONNX defines (the checker refuses them, so written
    # unchecked): activations one STRING, clip a STRING, layout a STRING.
    for stem, name, value in (("activations_string", "activations", "Sigmoid"),
                              ("clip_string", "clip", "3"), ("layout_string", "layout", "1")):
        model = gru_model([c], **lbr)
        model.graph.node[-1].attribute.append(helper.make_attribute(name, value))
        onnx.save(model, os.path.join(out, stem + ".onnx"))
    # Weights in bfloat16 (GRU-22 allows it; numpy reads it through ml_dtypes, which onnx
    # needs), beside the same values in float32: both convert to the same bytes.
    from onnx import numpy_helper
    bf = OnnxCase.__new__(OnnxCase)
    bf.__dict__.update(c.__dict__)
    for k in ("W", "R", "B"):
        setattr(bf, k, (getattr(c, k).view(np.uint32) & 0xFFFF0000).view(np.float32))
    model = gru_model([bf], **lbr)
    save(model, os.path.join(out, "bf16_weights_f32.onnx"))
    for init in model.graph.initializer:
        a = numpy_helper.to_array(init)
        init.CopyFrom(helper.make_tensor(init.name, TensorProto.BFLOAT16, a.shape,
                                         (a.view(np.uint32) >> 16).astype(np.uint16).tobytes(),
                                         raw=True))
    onnx.save(model, os.path.join(out, "bf16_weights.onnx"))

    # linear_before_reset=0, the reset gate before the recurrent product (drawn after the cases
    # above, which keep their weights): bias and initial_h, N=3; the attribute left to its
    # default (0) without bias, N=2; D > H, a long sequence, N=1.
    runnable("lbr0_n3_l5_h0", [OnnxCase(rng, 7, 13, 3, 5, True, True)],
             lbr=dict(linear_before_reset=0))
    runnable("lbr_default_n2_l9", [OnnxCase(rng, 7, 13, 2, 9, False, True)], lbr={})
    runnable("lbr0_n1_l64", [OnnxCase(rng, 40, 16, 1, 64, True, False)],
             lbr=dict(linear_before_reset=0))
    # H=200, N=1: Mullapudi2016's GPU step reads past Wh, so opencl runs the fallback schedule;
    # on CPUs H is no multiple of the vector width (a guarded tail).
    runnable("lbr0_h200", [OnnxCase(rng, 7, 200, 1, 6, True, True)],
             lbr=dict(linear_before_reset=0))


# ---- ONNX models of several layers or directions ------------------------------------------------


def onnx_stack(rng, D, H, N, L, layers, direction, lbr, bias, h0, lengths, plumbing="torch",
               lbr_of=None):
    """A model of `layers` GRU nodes, each `direction`, chained: node k+1's X is node k's Y
    through `plumbing` ("torch": Transpose(0,2,1,3) then Reshape(0,0,-1), as PyTorch exports
    a multi-layer GRU; "squeeze": Squeeze(axes=[1]), unidirectional only; "scrambled": a Reshape
    to [L][N][dirs*H] without the Transpose, which mixes rows up; "two_steps": Squeeze then a
    Reshape to [2][-1][H], unidirectional only, which is a stack's plumbing for L = 2 only and
    otherwise folds steps into rows). Returns the model, the
    problem in MLX layout (tools/gru_model_golden.py) and the ONNX Runtime feeds."""
    from onnx import TensorProto, helper, numpy_helper
    sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
    from gru_model_golden import Cell, ModelProblem

    dirs = 2 if direction == "bidirectional" else 1
    s = 0.6
    x = rng.normal(0.0, 2.0, (N, L, D)).astype(np.float32)
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [L, N, D])]
    nodes, inits, cells, h0s = [], [], [], []
    feeds = {"X": np.ascontiguousarray(x.transpose(1, 0, 2))}
    if lengths is not None:
        inits.append(numpy_helper.from_array(np.asarray(lengths, np.int32), "seq_lens"))
    x_name = "X"
    for k in range(layers):
        Dk = D if k == 0 else dirs * H
        W = rng.uniform(-s, s, (dirs, 3 * H, Dk)).astype(np.float32)
        R = rng.uniform(-s, s, (dirs, 3 * H, H)).astype(np.float32)
        B = rng.uniform(-s, s, (dirs, 6 * H)).astype(np.float32) if bias else None
        for d in range(dirs):
            b = bhn = None
            if bias:
                wb, rb = B[d, :3 * H], B[d, 3 * H:]
                b = rz_first(wb, H) + np.r_[rz_first(rb, H)[:2 * H], np.zeros(H, np.float32)]
                bhn = rb[2 * H:]
            cells.append(Cell(rz_first(W[d], H), rz_first(R[d], H), b, bhn))
        for label, a in (("W", W), ("R", R), ("B", B)):
            if a is not None:
                inits.append(numpy_helper.from_array(a, f"{label}{k}"))
        gin = [x_name, f"W{k}", f"R{k}", f"B{k}" if bias else "",
               "seq_lens" if lengths is not None else ""]
        if h0:
            init = rng.uniform(-1, 1, (dirs, N, H)).astype(np.float32)
            h0s.append(init)
            inputs.append(helper.make_tensor_value_info(f"h0_{k}", TensorProto.FLOAT, [dirs, N, H]))
            feeds[f"h0_{k}"] = init
            gin.append(f"h0_{k}")
        while gin[-1] == "":
            gin.pop()
        node_lbr = lbr if lbr_of is None else lbr_of(k)
        nodes.append(helper.make_node("GRU", gin, [f"Y{k}", f"Yh{k}"], name=f"gru_{k}",
                                      hidden_size=H, direction=direction,
                                      linear_before_reset=node_lbr))
        if k + 1 < layers:
            if plumbing == "torch":
                inits.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), f"shape{k}"))
                nodes.append(helper.make_node("Transpose", [f"Y{k}"], [f"T{k}"], perm=[0, 2, 1, 3]))
                nodes.append(helper.make_node("Reshape", [f"T{k}", f"shape{k}"], [f"X{k + 1}"]))
            elif plumbing == "squeeze":
                inits.append(numpy_helper.from_array(np.array([1], np.int64), f"axes{k}"))
                nodes.append(helper.make_node("Squeeze", [f"Y{k}", f"axes{k}"], [f"X{k + 1}"]))
            elif plumbing == "two_steps":
                inits.append(numpy_helper.from_array(np.array([1], np.int64), f"axes{k}"))
                inits.append(numpy_helper.from_array(np.array([2, -1, H], np.int64), f"shape{k}"))
                nodes.append(helper.make_node("Squeeze", [f"Y{k}", f"axes{k}"], [f"S{k}"]))
                nodes.append(helper.make_node("Reshape", [f"S{k}", f"shape{k}"], [f"X{k + 1}"]))
            else:
                inits.append(numpy_helper.from_array(np.array([L, N, dirs * H], np.int64),
                                                     f"shape{k}"))
                nodes.append(helper.make_node("Reshape", [f"Y{k}", f"shape{k}"], [f"X{k + 1}"]))
            x_name = f"X{k + 1}"
    outputs = [helper.make_tensor_value_info(f"Y{layers - 1}", TensorProto.FLOAT, [L, dirs, N, H])]
    outputs += [helper.make_tensor_value_info(f"Yh{k}", TensorProto.FLOAT, [dirs, N, H])
                for k in range(layers)]
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    problem = ModelProblem(cells=cells, layers=layers, directions=dirs,
                           reverse=direction == "reverse", reset_after=lbr == 1, x=x,
                           lengths=None if lengths is None else np.asarray(lengths, np.int32),
                           h0=np.concatenate(h0s) if h0 else None)
    return model, problem, feeds


def onnx_model_cases(out):
    """ONNX models of several layers or directions, run by ONNX Runtime into model goldens
    (GRUGOLD2): ONNX Runtime's last Y as [N][L][dirs*H] and every node's Y_h, in order, as h_n."""
    import onnxruntime as ort
    sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
    from gru_model_golden import write_model_golden

    rng = np.random.default_rng(15)

    def runnable(stem, **kw):
        model, problem, feeds = onnx_stack(rng, **kw)
        save(model, os.path.join(out, stem + ".onnx"))
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        y, *yh = sess.run(None, feeds)
        L, dirs, N, H = y.shape
        write_model_golden(os.path.join(out, stem + ".gold"), problem,
                           y.transpose(2, 0, 1, 3).reshape(N, L, dirs * H), np.concatenate(yh))

    # One reverse node, per-row lengths (sequence_lens), initial_h.
    runnable("reverse_len", D=6, H=5, N=2, L=5, layers=1, direction="reverse", lbr=1, bias=True,
             h0=True, lengths=[5, 3])
    # One bidirectional node, linear_before_reset=0, no bias, no initial_h.
    runnable("bidi_lbr0", D=7, H=9, N=3, L=6, layers=1, direction="bidirectional", lbr=0,
             bias=False, h0=False, lengths=None)
    # Two bidirectional nodes chained as PyTorch exports them, lengths, initial_h, lbr=0.
    runnable("stack2_bidi_lbr0_len", D=8, H=16, N=3, L=7, layers=2, direction="bidirectional",
             lbr=0, bias=True, h0=True, lengths=[7, 4, 1])
    # Three forward nodes chained through Squeeze, lbr=1, no lengths.
    runnable("stack3_fwd", D=5, H=12, N=2, L=6, layers=3, direction="forward", lbr=1, bias=True,
             h0=True, lengths=None)
    # Refused: rows scrambled between the nodes; variants or directions that differ.
    for stem, kw in (("stack_scrambled", dict(direction="bidirectional", plumbing="scrambled")),
                     ("stack_mixed_lbr", dict(direction="forward", plumbing="squeeze",
                                              lbr_of=lambda k: k % 2))):
        model, _, _ = onnx_stack(rng, D=4, H=3, N=2, L=3, layers=2, lbr=1, bias=True, h0=False,
                                 lengths=None, **kw)
        save(model, os.path.join(out, stem + ".onnx"))
    # Refused: a Reshape to a fixed [2][-1][H], which a stack's plumbing only when L = 2: ONNX
    # Runtime runs this model (L = 4, N = 3) as a second GRU of 2 steps over 6 rows.
    model, _, _ = onnx_stack(rng, D=4, H=3, N=3, L=4, layers=2, lbr=1, bias=True, h0=False,
                             lengths=None, direction="forward", plumbing="two_steps")
    save(model, os.path.join(out, "stack_two_steps.onnx"))


# ---- Keras files gru-import refuses (h5py only, in Keras 3's layout) -------------------------


def keras_cases(out):
    """Keras 3 files written with h5py in the layout Keras writes (layers/<x>/cell/vars/0..2,
    layers/<x>/vars with the layer's name; a .keras zip adds config.json), each with one thing
    gru-import must refuse, and keras_checked.keras: test/import/keras's bidirectional model
    with config edits that must be refused."""
    import io
    import json
    import zipfile

    import h5py

    rng = np.random.default_rng(7)
    u = lambda *s: rng.uniform(-0.5, 0.5, s).astype(np.float32)

    def gru(f, key, name, D, H, bias="after", group=None):
        g = f.create_group(f"layers/{key}") if group is None else group
        g.create_group("vars").attrs["name"] = name
        v = g.create_group("cell/vars")
        v.attrs["name"] = "gru_cell"
        v["0"], v["1"] = u(D, 3 * H), u(H, 3 * H)
        if bias == "after":
            v["2"] = u(2, 3 * H)
        elif bias == "before":
            v["2"] = u(3 * H)
        elif bias == "bad":
            v["2"] = u(3, 3 * H)

    def h5(path, build):
        with h5py.File(path, "w") as f:
            build(f)

    h5(os.path.join(out, "two_grus.weights.h5"),
       lambda f: (gru(f, "gru", "gru", 5, 4), gru(f, "gru_1", "gru_1", 4, 4)))
    h5(os.path.join(out, "no_bias.weights.h5"), lambda f: gru(f, "gru", "gru", 5, 4, bias=None))
    h5(os.path.join(out, "bad_bias.weights.h5"), lambda f: gru(f, "gru", "gru", 5, 4, bias="bad"))
    h5(os.path.join(out, "no_gru.weights.h5"),
       lambda f: f.create_group("layers/dense/vars").attrs.__setitem__("name", "dense"))

    # A .keras model: config.json beside model.weights.h5.
    def keras_file(path, layers_config, build, kind="Sequential"):
        buf = io.BytesIO()
        with h5py.File(buf, "w") as f:
            build(f)
        config = {"class_name": kind, "config": {"name": kind.lower(),
                                                 "layers": layers_config}}
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("metadata.json", "{}")
            z.writestr("config.json", json.dumps(config))
            z.writestr("model.weights.h5", buf.getvalue())

    def gru_config(name, **kw):
        c = {"name": name, "units": 4, "activation": "tanh", "recurrent_activation": "sigmoid",
             "use_bias": True, "reset_after": True, "go_backwards": False,
             "return_sequences": True}
        c.update(kw)
        return {"class_name": "GRU", "config": c}

    keras_file(os.path.join(out, "go_backwards.keras"), [gru_config("gru", go_backwards=True)],
               lambda f: gru(f, "gru", "gru", 5, 4))
    keras_file(os.path.join(out, "relu.keras"), [gru_config("gru", activation="relu")],
               lambda f: gru(f, "gru", "gru", 5, 4))
    keras_file(os.path.join(out, "dense_between.keras"),
               [gru_config("gru"), {"class_name": "Dense", "config": {"name": "dense"}},
                gru_config("gru_1")],
               lambda f: (gru(f, "gru", "gru", 5, 4), gru(f, "gru_1", "gru_1", 4, 4)))
    keras_file(os.path.join(out, "last_step_only.keras"),
               [gru_config("gru", return_sequences=False), gru_config("gru_1")],
               lambda f: (gru(f, "gru", "gru", 5, 4), gru(f, "gru_1", "gru_1", 4, 4)))
    keras_file(os.path.join(out, "mixed_reset.keras"),
               [gru_config("gru"), gru_config("gru_1", reset_after=False)],
               lambda f: (gru(f, "gru", "gru", 5, 4), gru(f, "gru_1", "gru_1", 4, 4, "before")))
    # No bias: the .keras config says reset_after, so it converts (a .weights.h5 cannot).
    keras_file(os.path.join(out, "no_bias_before.keras"),
               [gru_config("gru", use_bias=False, reset_after=False)],
               lambda f: gru(f, "gru", "gru", 5, 4, bias=None))
    # merge_mode other than concat.
    def bidi(f):
        g = f.create_group("layers/bidirectional")
        g.create_group("vars").attrs["name"] = "bidirectional"
        gru(f, None, "forward_gru", 5, 4, group=g.create_group("forward_layer"))
        gru(f, None, "backward_gru", 5, 4, group=g.create_group("backward_layer"))
    keras_file(os.path.join(out, "merge_sum.keras"),
               [{"class_name": "Bidirectional",
                 "config": {"name": "bidirectional", "merge_mode": "sum",
                            "layer": gru_config("forward_gru")}}], bidi)

    # keras.layers.RNN(GRUCell(...)): the weights are a gru_cell's like a GRU's, the settings in
    # the cell's config (activations, reset_after) and the RNN's (go_backwards).
    def rnn_config(name, go_backwards=False, **cell):
        c = gru_config("gru_cell", **cell)["config"]
        for k in ("go_backwards", "return_sequences"):
            c.pop(k)
        return {"class_name": "RNN", "config": {
            "name": name, "go_backwards": go_backwards, "return_sequences": True,
            "cell": {"class_name": "GRUCell", "config": c}}}

    keras_file(os.path.join(out, "rnn_relu.keras"), [rnn_config("rnn", activation="relu")],
               lambda f: gru(f, "rnn", "rnn", 5, 4))
    keras_file(os.path.join(out, "rnn_hard_sigmoid.keras"),
               [rnn_config("rnn", recurrent_activation="hard_sigmoid")],
               lambda f: gru(f, "rnn", "rnn", 5, 4))
    keras_file(os.path.join(out, "rnn_backwards.keras"), [rnn_config("rnn", go_backwards=True)],
               lambda f: gru(f, "rnn", "rnn", 5, 4))
    keras_file(os.path.join(out, "rnn_no_bias_before.keras"),
               [rnn_config("rnn", use_bias=False, reset_after=False)],
               lambda f: gru(f, "rnn", "rnn", 5, 4, bias=None))
    lstm_rnn = rnn_config("rnn")
    lstm_rnn["config"]["cell"]["class_name"] = "LSTMCell"
    keras_file(os.path.join(out, "rnn_other_cell.keras"), [lstm_rnn],
               lambda f: gru(f, "rnn", "rnn", 5, 4))
    custom = gru_config("gru")
    custom.update(module="my_layers", class_name="MyGRU")
    keras_file(os.path.join(out, "custom_class.keras"), [custom],
               lambda f: gru(f, "gru", "gru", 5, 4))
    keras_file(os.path.join(out, "bidi_rnn_relu.keras"),
               [{"class_name": "Bidirectional",
                 "config": {"name": "bidirectional", "merge_mode": "concat",
                            "layer": rnn_config("forward_rnn", activation="relu")}}], bidi)
    # Bidirectional(GRU(go_backwards=True), backward_layer=GRU()): Keras runs that forward
    # layer backward and flips the other one's outputs.
    keras_file(os.path.join(out, "bidi_forward_backwards.keras"),
               [{"class_name": "Bidirectional",
                 "config": {"name": "bidirectional", "merge_mode": "concat",
                            "layer": gru_config("forward_gru", go_backwards=True),
                            "backward_layer": gru_config("backward_gru")}}], bidi)

    # Functional models: which layer reads which is in each layer's inbound_nodes, not in the
    # order of the config's list. Two GRU layers on the same input, side by side, are no stack;
    # g1 -> g2 is one.
    def called_on(layer, source):
        history = {"class_name": "__keras_tensor__",
                   "config": {"shape": [None, 6, 4], "keras_history": [source, 0, 0]}}
        return dict(layer, name=layer["config"]["name"],
                    inbound_nodes=[{"args": [history], "kwargs": {}}])

    inp = {"class_name": "InputLayer", "name": "input", "config": {"name": "input"},
           "inbound_nodes": []}
    two = lambda f: (gru(f, "gru", "g1", 4, 4), gru(f, "gru_1", "g2", 4, 4))
    keras_file(os.path.join(out, "side_by_side.keras"),
               [inp, called_on(gru_config("g1"), "input"), called_on(gru_config("g2"), "input")],
               two, kind="Functional")
    keras_file(os.path.join(out, "functional_stack.keras"),
               [inp, called_on(gru_config("g1"), "input"), called_on(gru_config("g2"), "g1")],
               two, kind="Functional")

    # Dropout between GRU layers is the identity at inference: still one stack (Sequential, and
    # Functional g1 -> dropout -> g2); a Dense is not.
    keras_file(os.path.join(out, "dropout_between.keras"),
               [gru_config("gru"), {"class_name": "Dropout", "config": {"name": "dropout"}},
                {"class_name": "GaussianNoise", "config": {"name": "noise"}}, gru_config("gru_1")],
               lambda f: (gru(f, "gru", "gru", 5, 4), gru(f, "gru_1", "gru_1", 4, 4)))
    drop = called_on({"class_name": "Dropout", "config": {"name": "dropout"}}, "g1")
    keras_file(os.path.join(out, "functional_dropout.keras"),
               [inp, called_on(gru_config("g1"), "input"), drop,
                called_on(gru_config("g2"), "dropout")], two, kind="Functional")

    # A mask before a GRU layer (Masking, Embedding(mask_zero=True)): Keras skips the masked
    # timesteps, carrying the state through them. Sequential, the mask maker anywhere before;
    # Functional, upstream through inbound_nodes (Keras 3 records the mask it passes in kwargs,
    # here computed from the input as Keras writes it: NotEqual, Any), or a mask the call names.
    masking = {"module": "keras.layers", "class_name": "Masking",
               "config": {"name": "masking", "mask_value": 0.0}}
    keras_file(os.path.join(out, "masking.keras"), [masking, gru_config("gru")],
               lambda f: gru(f, "gru", "gru", 5, 4))
    embedding = lambda mask_zero: {"module": "keras.layers", "class_name": "Embedding",
                                   "config": {"name": "embedding", "input_dim": 10,
                                              "output_dim": 5, "mask_zero": mask_zero}}
    keras_file(os.path.join(out, "embedding_mask_zero.keras"),
               [embedding(True), {"class_name": "Dropout", "config": {"name": "dropout"}},
                gru_config("gru")], lambda f: gru(f, "gru", "gru", 5, 4))
    keras_file(os.path.join(out, "embedding_no_mask.keras"), [embedding(False), gru_config("gru")],
               lambda f: gru(f, "gru", "gru", 5, 4))

    def with_mask(layer, source):
        layer["inbound_nodes"][0]["kwargs"]["mask"] = {
            "class_name": "__keras_tensor__",
            "config": {"shape": [None, 6], "dtype": "bool", "keras_history": [source, 0, 0]}}
        return layer
    ops = [called_on({"module": "keras.src.ops.numpy", "class_name": "NotEqual",
                      "config": {"name": "not_equal"}}, "input"),
           called_on({"module": "keras.src.ops.numpy", "class_name": "Any",
                      "config": {"name": "any", "axis": -1}}, "not_equal")]
    keras_file(os.path.join(out, "functional_masking.keras"),
               [inp, called_on(dict(masking, config={"name": "mask", "mask_value": 0.0}), "input"),
                *ops, with_mask(called_on(gru_config("g1"), "mask"), "any"),
                with_mask(called_on(gru_config("g2"), "g1"), "any")], two, kind="Functional")
    mask_input = {"class_name": "InputLayer", "name": "m", "config": {"name": "m"},
                  "inbound_nodes": []}
    keras_file(os.path.join(out, "functional_mask_input.keras"),
               [inp, mask_input, with_mask(called_on(gru_config("g1"), "input"), "m")],
               lambda f: gru(f, "gru", "g1", 4, 4), kind="Functional")

    # Malformed: a config.json that is a list (a traceback before), a kernel of integers
    # (converted as values before).
    with zipfile.ZipFile(os.path.join(out, "config_list.keras"), "w") as z:
        buf = io.BytesIO()
        with h5py.File(buf, "w") as f:
            gru(f, "gru", "gru", 5, 4)
        z.writestr("config.json", "[1, 2]")
        z.writestr("model.weights.h5", buf.getvalue())

    def int_kernel(f):
        gru(f, "gru", "gru", 5, 4)
        del f["layers/gru/cell/vars/0"]
        f["layers/gru/cell/vars/0"] = np.ones((5, 12), np.int32)
    h5(os.path.join(out, "int_kernel.weights.h5"), int_kernel)

    # A Bidirectional layer whose backward_layer has the other variant (its bias [3H]).
    def bidi_mixed(f):
        g = f.create_group("layers/bidirectional")
        g.create_group("vars").attrs["name"] = "bidirectional"
        gru(f, None, "forward_gru", 5, 4, group=g.create_group("forward_layer"))
        gru(f, None, "backward_gru", 5, 4, "before", group=g.create_group("backward_layer"))
    h5(os.path.join(out, "bidi_mixed_reset.weights.h5"), bidi_mixed)


def onnx_state_cases(out):
    """One GRU node whose initial_h comes from different places: fixed in the model and not
    zero (an initializer; an Expand of a learned [1][1][H] state to the batch, as PyTorch exports
    nn.GRU(x, h0_param.expand(...))), zero (an initializer; ConstantOfShape, as PyTorch exports
    a missing h0), or a graph input."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(11)
    D, H, N, L = 3, 4, 2, 5
    f32 = lambda a, name: numpy_helper.from_array(np.asarray(a, np.float32), name)
    i64 = lambda a, name: numpy_helper.from_array(np.asarray(a, np.int64), name)
    weights = [f32(rng.uniform(-0.5, 0.5, (1, 3 * H, D)), "W"),
               f32(rng.uniform(-0.5, 0.5, (1, 3 * H, H)), "R"),
               f32(rng.uniform(-0.5, 0.5, (1, 6 * H)), "B")]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["L", "N", D])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["L", 1, "N", H])
    # [1, N, H] from X's shape.
    shape_nodes = [helper.make_node("Shape", ["X"], ["x_shape"]),
                   helper.make_node("Gather", ["x_shape", "one"], ["n"], axis=0),
                   helper.make_node("Concat", ["one", "n", "h"], ["h0_shape"], axis=0)]
    shape_inits = [i64([1], "one"), i64([H], "h")]

    def model(stem, nodes, inits, inputs=()):
        gru = helper.make_node("GRU", ["X", "W", "R", "B", "", "h0"], ["Y"], name="gru",
                               hidden_size=H, linear_before_reset=1)
        graph = helper.make_graph(nodes + [gru], "g", [x, *inputs], [y], weights + inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
        m.ir_version = 8
        save(m, os.path.join(out, stem + ".onnx"))

    model("h0_fixed", [], [f32(rng.uniform(-1, 1, (1, N, H)), "h0")])
    model("h0_learned", shape_nodes + [helper.make_node("Expand", ["h0_param", "h0_shape"], ["h0"])],
          shape_inits + [f32(rng.uniform(-1, 1, (1, 1, H)), "h0_param")])
    model("h0_zeros", [], [f32(np.zeros((1, N, H)), "h0")])
    model("h0_zeros_of_shape", shape_nodes + [helper.make_node(
        "ConstantOfShape", ["h0_shape"], ["h0"], value=f32([0.0], "zero"))], shape_inits)
    model("h0_input", [], [], [helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, N, H])])
    # A scalar Constant node (value_float) expanded: zero converts, anything else is fixed.
    for stem, value in (("h0_scalar_zero", 0.0), ("h0_scalar_fixed", 0.5)):
        model(stem, shape_nodes + [helper.make_node("Constant", [], ["c"], value_float=value),
                                   helper.make_node("Expand", ["c", "h0_shape"], ["h0"])],
              shape_inits)


# ---- PyTorch state dicts gru-import refuses ---------------------------------------------------


def torch_cases(out):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(6)
    D, H = 5, 4
    u = lambda *s: rng.uniform(-0.5, 0.5, s).astype(np.float32)
    layer = {"weight_ih_l0": u(3 * H, D), "weight_hh_l0": u(3 * H, H),
             "bias_ih_l0": u(3 * H), "bias_hh_l0": u(3 * H)}
    l1 = {"weight_ih_l1": u(3 * H, H), "weight_hh_l1": u(3 * H, H),
          "bias_ih_l1": u(3 * H), "bias_hh_l1": u(3 * H)}
    rev = {k + "_reverse": v for k, v in layer.items()}
    l1_bi = {"weight_ih_l1": u(3 * H, 2 * H), "weight_hh_l1": u(3 * H, H),
             "bias_ih_l1": u(3 * H), "bias_hh_l1": u(3 * H)}
    l1_bi_rev = {k + "_reverse": u(*v.shape) for k, v in l1_bi.items()}
    l2 = {k.replace("_l1", "_l2"): v for k, v in l1.items()}
    files = {
        "good": layer,
        # Models (converted to "<l>." and "<l>.reverse." keys).
        "two_layers": {**layer, **l1},
        "bidirectional": {**layer, **rev},
        "two_layers_bidirectional": {**layer, **rev, **l1_bi, **l1_bi_rev},
        # Models gru-import refuses.
        "layer_gap": {**layer, **l2},
        "mixed_bias": {**layer, **{k: v for k, v in l1.items() if k.startswith("weight")}},
        "half_bidirectional": {**layer, **rev, **l1_bi},
        "late_reverse": {**layer, **l1, **{k + "_reverse": v for k, v in l1.items()}},
        "bad_chain": {**layer, **l1, "weight_ih_l1": u(3 * H, D)},
        "nested": {"gru." + k: v for k, v in layer.items()} | {"head.weight": u(2, H)},
        "extra": {**layer, "head.weight": u(2, H)},
        "one_bias": {k: v for k, v in layer.items() if k != "bias_hh_l0"},
        "no_hh": {k: v for k, v in layer.items() if k != "weight_hh_l0"},
        "bad_shape": {**layer, "weight_ih_l0": u(3 * H + 1, D)},
        "not_gru": {"weight": u(3, 3)},
    }
    for stem, tensors in files.items():
        save_file(tensors, os.path.join(out, stem + ".safetensors"))
    with open(os.path.join(out, "garbage.pt"), "wb") as f:
        f.write(b"neither safetensors nor a torch.save file\n")
    # Weights of other dtypes: integers (refused, not taken as values), FP8 (which numpy does
    # not hold: refused, not a crash), F64 (rounded); a model's integer and FP8 tensors outside
    # --prefix (BatchNorm's num_batches_tracked) do not matter.
    save_file({**layer, "weight_hh_l0": np.round(layer["weight_hh_l0"] * 8).astype(np.int32)},
              os.path.join(out, "int_weights.safetensors"))
    save_file({k: v.astype(np.float64) for k, v in layer.items()},
              os.path.join(out, "f64.safetensors"))
    fp8 = ("F8_E4M3", [3 * H, D], bytes(3 * H * D))
    floats = safetensors_io.arrays({k: v for k, v in layer.items() if k != "weight_ih_l0"})
    safetensors_io.write(os.path.join(out, "fp8_weights.safetensors"),
                         {**floats, "weight_ih_l0": fp8})
    safetensors_io.write(os.path.join(out, "int_buffers.safetensors"),
                         {**safetensors_io.arrays({"gru." + k: v for k, v in layer.items()}),
                          "bn.num_batches_tracked": ("I64", [], np.int64(3).tobytes()),
                          "bn.scale": ("F8_E4M3", [4], bytes(4))})
    half_cases(out, layer)


def torch_dynamo_cases(out):
    """<stem>.onnx: nn.GRU exported by torch.onnx.export's dynamo exporter (torch's default
    since 2.9), for one input shape, or with dynamic_shapes; <stem>.gold (GRUGOLD2): the cells
    from the state dict in MLX layout (tools/make_torch_goldens.py, not gru-import), x, h0 and
    PyTorch's output and h_n, at the export's sizes or (dynamic) at others."""
    import contextlib
    import io
    import warnings

    import torch
    from gru_model_golden import Cell, ModelProblem, write_model_golden
    from make_torch_goldens import mlx_layout

    torch.manual_seed(11)
    rng = np.random.default_rng(11)
    D, H = 5, 6
    # stem, nn.GRU keywords, export with an h0 input, dynamic (L, N) and the golden's (L, N)
    cases = [("one_layer", {}, False, None),
             ("no_bias_batch_first_h0", dict(bias=False, batch_first=True), True, None),
             ("two_layers", dict(num_layers=2), False, None),
             ("bidi_batch_first", dict(bidirectional=True, batch_first=True), False, None),
             ("two_layers_bidi_h0", dict(num_layers=2, bidirectional=True), True, None),
             ("two_layers_bidi_dynamic", dict(num_layers=2, bidirectional=True, batch_first=True),
              True, (7, 4))]
    for stem, kw, with_h0, dynamic in cases:
        gru = torch.nn.GRU(D, H, **kw).eval()
        layers, dirs = gru.num_layers, 2 if gru.bidirectional else 1
        batch_first = kw.get("batch_first", False)

        def inputs(L, N):
            x = rng.normal(0.0, 2.0, (N, L, D)).astype(np.float32)
            h0 = rng.uniform(-1, 1, (layers * dirs, N, H)).astype(np.float32) if with_h0 else None
            xt = torch.from_numpy(x if batch_first else x.transpose(1, 0, 2).copy())
            return x, h0, (xt,) + (() if h0 is None else (torch.from_numpy(h0),))

        _, _, args = inputs(3, 2)
        options = {}
        if dynamic:
            time, batch = torch.export.Dim("time"), torch.export.Dim("batch")
            x_dims = {0: batch, 1: time} if batch_first else {0: time, 1: batch}
            options["dynamic_shapes"] = (x_dims,) + (({1: batch},) if with_h0 else ())
        # The exporter prints its progress on stdout, and torch.export warns of its internals.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(gru, args, os.path.join(out, stem + ".onnx"), dynamo=True,
                              **options)
        x, h0, args = inputs(*(dynamic or (3, 2)))
        with torch.no_grad():
            y, h_n = gru(*args)
        y = y.numpy() if batch_first else y.numpy().transpose(1, 0, 2)
        sd = gru.state_dict()
        cells = [Cell(*mlx_layout(sd, "", H, f"_l{l}{'_reverse' if d else ''}"))
                 for l in range(layers) for d in range(dirs)]
        problem = ModelProblem(cells=cells, layers=layers, directions=dirs, reverse=False,
                               reset_after=True, x=x, h0=h0)
        write_model_golden(os.path.join(out, stem + ".gold"), problem, y, h_n.numpy())


def write_half_safetensors(path, tensors, dtype):
    """A safetensors file of float32 arrays stored as F16 or BF16, as PyTorch's
    safetensors.torch.save_file writes a half-precision state dict (no torch, and numpy has no
    bfloat16: BF16 is the high half of each float32, which must be exact)."""
    safetensors_io.write(path, safetensors_io.arrays(tensors, dtype), canonical=False)


def half_cases(out, layer):
    """half_{bf16,f16}.safetensors: the layer's values rounded to BF16 or F16, with each format's
    extremes in the weights (largest finite, smallest subnormal, -0); half_{bf16,f16}_f32 holds the
    very same values in F32, which gru-import's output for the half file must equal exactly."""
    from safetensors.numpy import save_file

    def bf16(a):
        return (a.astype(np.float32).view(np.uint32) & 0xFFFF0000).view(np.float32)

    def f16(a):
        return a.astype(np.float16).astype(np.float32)

    extremes = {"BF16": [np.uint32(0x7F7F0000).view(np.float32), np.uint32(0x00010000).view(np.float32),
                         np.float32(-0.0), np.uint32(0x80800000).view(np.float32)],
                "F16": [65504.0, -65504.0, 2.0 ** -24, -0.0, 2.0 ** -14]}
    for dtype, rounded in (("BF16", bf16), ("F16", f16)):
        tensors = {k: rounded(v) for k, v in layer.items()}
        e = np.asarray(extremes[dtype], dtype=np.float32)
        tensors["weight_ih_l0"].flat[:len(e)] = e
        tensors["weight_hh_l0"].flat[-len(e):] = e
        stem = "half_" + dtype.lower()
        write_half_safetensors(os.path.join(out, stem + ".safetensors"), tensors, dtype)
        save_file(tensors, os.path.join(out, stem + "_f32.safetensors"))


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    {"onnx": onnx_cases, "onnx-models": onnx_model_cases, "onnx-state": onnx_state_cases,
     "torch": torch_cases, "keras": keras_cases, "torch-dynamo": torch_dynamo_cases}[kind](out)
