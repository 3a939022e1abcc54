"""Exact graph rewrites that let onnxruntime run more of an exported generator in int8.

* :func:`fold_batch_norm`: inference BatchNormalization folded into the convolution before it;
* :func:`conv_transpose_as_conv`: a stride-s ConvTranspose as a Conv with s x s output phases and
  DepthToSpace (onnxruntime's CPU provider has int8 Conv kernels but no int8 ConvTranspose), with a
  following activation moved next to the Conv so that it fuses;
* :func:`compact_names`: short tensor names for the quantised graph (size).

Each rewrite computes the same function; :mod:`studio.core.export.onnx_quantize` still checks the
rewritten graph against the original before quantising it.
"""
from __future__ import annotations

import math

import numpy as np


# -- BatchNormalization folded into the convolution before it ----------------------------------
def fold_batch_norm(model) -> int:
    """Fold inference BatchNormalization into a preceding Conv/ConvTranspose with constant weights.

    The legacy exporter leaves BN after a ConvTranspose; quantised as is, it would be a float op
    between two int8 ones (and its rank-1 weights have no per-channel axis).
    """
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    made_by = {o: n for n in g.node for o in n.output}
    for n in g.node:  # the exporter shares equal tensors through Identity nodes (fresh running stats)
        if n.op_type == "Identity" and n.input[0] in inits and n.output[0] not in inits:
            inits[n.output[0]] = inits[n.input[0]]
    uses: dict[str, int] = {}
    for n in g.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    outputs = {o.name for o in g.output}
    drop, count = set(), 0
    for bn in g.node:
        if bn.op_type != "BatchNormalization" or len(bn.output) != 1 or any(i not in inits for i in bn.input[1:5]):
            continue
        conv = made_by.get(bn.input[0])
        if (conv is None or conv.op_type not in ("Conv", "ConvTranspose") or uses.get(bn.input[0]) != 1
                or bn.input[0] in outputs or conv.input[1] not in inits
                or (len(conv.input) > 2 and conv.input[2] and conv.input[2] not in inits)):
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        if attrs.get("group", 1) != 1:
            continue
        gamma, beta, mean, var = (numpy_helper.to_array(inits[i]).astype(np.float64) for i in bn.input[1:5])
        eps = next((helper.get_attribute_value(a) for a in bn.attribute if a.name == "epsilon"), 1e-5)
        scale = gamma / np.sqrt(var + eps)
        w = numpy_helper.to_array(inits[conv.input[1]])
        axis = 1 if conv.op_type == "ConvTranspose" else 0  # output channels
        shape = [1] * w.ndim
        shape[axis] = -1
        w2 = (w.astype(np.float64) * scale.reshape(shape)).astype(w.dtype)
        b = numpy_helper.to_array(inits[conv.input[2]]).astype(np.float64) \
            if len(conv.input) > 2 and conv.input[2] else np.zeros_like(scale)
        b2 = ((b - mean) * scale + beta).astype(w.dtype)
        name = f"{conv.name or conv.op_type}_bnfold{count}"
        g.initializer.extend([numpy_helper.from_array(w2, f"{name}_W"), numpy_helper.from_array(b2, f"{name}_B")])
        conv.input[1] = f"{name}_W"
        if len(conv.input) > 2:
            conv.input[2] = f"{name}_B"
        else:
            conv.input.append(f"{name}_B")
        conv.output[0] = bn.output[0]
        drop.add(id(bn))
        count += 1
    if count:
        keep = [n for n in g.node if id(n) not in drop]
        del g.node[:]
        g.node.extend(keep)
        _drop_unused_initializers(g)
    return count


def _drop_unused_initializers(g) -> None:
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


# -- ConvTranspose -> Conv + DepthToSpace ------------------------------------------------------
def conv_transpose_as_conv(model) -> int:
    """Rewrite 2-D ConvTranspose nodes (constant weights, group 1, equal strides) in place; returns how many.

    Output position ``o`` of a stride-``s`` transposed convolution with padding ``p``
    receives ``x[m - j] * W[s*j + r]`` where ``o + p = s*m + r``: for each phase ``r`` a
    plain convolution with the flipped taps ``W[r::s]``. The ``s*s`` phases become the
    Conv's output channels (ordered as DepthToSpace's CRD mode reads them), padding
    ``K-1`` gives the full output, and a Slice crops the ``p`` border.
    """
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes, count, made = [], 0, {}   # made: one rewritten weight per original (unrolled samplers share them)
    for node in g.node:
        rewritten = _rewrite_one(node, inits, g, count, helper, numpy_helper, made) \
            if node.op_type == "ConvTranspose" else None
        if rewritten is None:
            nodes.append(node)
            continue
        nodes.extend(rewritten)
        count += 1
    if count:
        del g.node[:]
        g.node.extend(nodes)
        _drop_unused_initializers(g)  # the replaced transposed weights go
        _activation_before_shuffle(g)
    return count


_ELEMENTWISE = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Softplus"}


def _activation_before_shuffle(g) -> int:
    """Conv -> DepthToSpace -> Slice -> activation becomes Conv -> activation -> DepthToSpace -> Slice.

    The same values (an element-wise op commutes with moving and cropping), but the activation now
    follows the Conv directly, where onnxruntime fuses it into the int8 convolution.
    """
    outputs = {o.name for o in g.output}
    users: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    moved = 0
    for conv in list(g.node):
        if conv.op_type != "Conv" or "_as_conv" not in conv.name:
            continue
        base, chain, cur = conv.name[:-len("_Conv")], [conv], conv.output[0]
        while len(users.get(cur, [])) == 1 and cur not in outputs:
            nxt = users[cur][0]
            if nxt.op_type not in ("DepthToSpace", "Slice") or not nxt.name.startswith(base):
                break
            chain.append(nxt)
            cur = nxt.output[0]
        after = users.get(cur, [])
        if len(chain) == 1 or len(after) != 1 or cur in outputs or after[0].op_type not in _ELEMENTWISE \
                or len(after[0].input) != 1:
            continue
        act = after[0]
        result, mid = act.output[0], f"{conv.output[0]}_activated"
        act.input[0], act.output[0] = conv.output[0], mid
        chain[1].input[0] = mid
        chain[-1].output[0] = result
        moved += 1
    if moved:
        _topological_order(g)
    return moved


def _topological_order(g) -> None:
    ready = {i.name for i in g.input} | {i.name for i in g.initializer} | {""}
    pending, ordered = list(g.node), []
    while pending:
        rest = []
        for n in pending:
            if all(i in ready for i in n.input):
                ordered.append(n)
                ready.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):  # not a DAG we understand: leave the order as it was
            return
        pending = rest
    del g.node[:]
    g.node.extend(ordered)


def _rewrite_one(node, inits, graph, k_id, helper, numpy_helper, made):
    if len(node.input) < 2 or node.input[1] not in inits:
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    w = numpy_helper.to_array(inits[node.input[1]])
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    if (w.ndim != 4 or attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1]))
            or "output_shape" in attrs or auto_pad not in (b"NOTSET", "NOTSET")):
        return None
    strides = list(attrs.get("strides", [1, 1]))
    if strides[0] != strides[1]:
        return None
    s = int(strides[0])
    cin, cout, kh, kw = (int(v) for v in w.shape)
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    opad = list(attrs.get("output_padding", [0, 0]))
    big_k = [math.ceil(kh / s), math.ceil(kw / s)]
    # rows past the full output that the crop drops; output_padding can ask for more rows than the
    # full output has: extra end padding of the Conv computes them (x is zero there, as in ConvTranspose)
    tails = [s * big_k[i] - (kh, kw)[i] + pads[2 + i] - opad[i] for i in range(2)]
    extra = [math.ceil(-t / s) if t < 0 else 0 for t in tails]
    tails = [t + s * e for t, e in zip(tails, extra)]
    if len(node.input) > 2 and node.input[2] and node.input[2] not in inits:
        return None
    base = f"{node.name or 'ConvTranspose'}_as_conv{k_id}"
    key = (node.input[1], s)
    if key not in made:
        wp = np.zeros((cin, cout, s * big_k[0], s * big_k[1]), dtype=w.dtype)
        wp[:, :, :kh, :kw] = w
        wr = wp.reshape(cin, cout, big_k[0], s, big_k[1], s)[:, :, ::-1, :, ::-1, :]   # taps flipped per phase
        v = np.ascontiguousarray(wr.transpose(1, 3, 5, 0, 2, 4).reshape(cout * s * s, cin, big_k[0], big_k[1]))
        graph.initializer.append(numpy_helper.from_array(v, f"{base}_W"))
        made[key] = f"{base}_W"
    inputs = [node.input[0], made[key]]
    if len(node.input) > 2 and node.input[2]:
        bkey = (node.input[2], s, "bias")
        if bkey not in made:
            b = numpy_helper.to_array(inits[node.input[2]])
            graph.initializer.append(numpy_helper.from_array(np.repeat(b, s * s).astype(b.dtype), f"{base}_B"))
            made[bkey] = f"{base}_B"
        inputs.append(made[bkey])
    out = []
    conv_out = f"{base}_phases"
    out.append(helper.make_node("Conv", inputs, [conv_out], name=f"{base}_Conv",
                                kernel_shape=big_k,
                                pads=[big_k[0] - 1, big_k[1] - 1, big_k[0] - 1 + extra[0], big_k[1] - 1 + extra[1]]))
    last = conv_out
    if s > 1:
        out.append(helper.make_node("DepthToSpace", [last], [f"{base}_full"], name=f"{base}_D2S",
                                    blocksize=s, mode="CRD"))
        last = f"{base}_full"
    starts, ends = [pads[0], pads[1]], [-t if t else np.iinfo(np.int64).max for t in tails]
    if any(starts) or any(tails):
        for key, val in (("starts", starts), ("ends", ends), ("axes", [2, 3])):
            graph.initializer.append(numpy_helper.from_array(np.array(val, dtype=np.int64), f"{base}_{key}"))
        out.append(helper.make_node("Slice", [last, f"{base}_starts", f"{base}_ends", f"{base}_axes"],
                                    [node.output[0]], name=f"{base}_Crop"))
    else:
        out[-1].output[0] = node.output[0]
    return out


def compact_names(model) -> None:
    """Short tensor names, no node names or shape annotations (onnxruntime re-infers them).

    A QDQ graph has two extra nodes and a scale and zero point per quantised tensor, each
    carrying the exporter's long path names: in an unrolled sampler (the DDIM decoder runs its
    network once per step) these names outweigh the int8 weights. Inputs and outputs keep theirs.
    """
    g = model.graph
    if any(a.type in (5, 10) for n in g.node for a in n.attribute):  # GRAPH(S): subgraphs see outer names
        return
    keep = {i.name for i in g.input} | {o.name for o in g.output}
    names: dict[str, str] = {}

    def short(x: str) -> str:
        if not x or x in keep:
            return x
        return names.setdefault(x, f"t{len(names):x}")

    for n in g.node:
        n.name, n.doc_string = "", ""
        for i, x in enumerate(n.input):
            n.input[i] = short(x)
        for i, x in enumerate(n.output):
            n.output[i] = short(x)
    for t in g.initializer:
        t.name = short(t.name)
    del g.value_info[:]
