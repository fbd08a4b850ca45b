import Foundation
import PipelineCommon

/// The builtin model as an ONNX graph (opset 13), to run anywhere ONNX runs (onnxruntime, TensorRT,
/// OpenVINO, a browser), with its preprocessing inside the graph:
///
/// - input `pixels`: float32 `[N, C, H, W]`, the image rendered as the model's training variant
///   (`header.variant`: its size, fit and background), RGB (or grey) values 0–255, channels first;
/// - the graph divides by 255, subtracts the per-channel mean and divides by the standard
///   deviation the model was trained with (`header.mean`, `header.standardDeviation`), then runs
///   each `Conv 3×3 (pad 1) → Relu → MaxPool 2×2` block, `Flatten`, the dense `Gemm` and `Softmax`;
/// - output `probabilities`: float32 `[N, classes]`, in `header.classes` order (also in the
///   model's metadata as `classes`, one per line).
///
/// The protobuf is written here (a few message types of `onnx.proto3`), since no ONNX or
/// protobuf library is among the project's dependencies.
public enum ONNXExport {
    public static func model(_ file: ModelFile, producerVersion: String = "1") -> Data {
        let header = file.header
        let architecture = header.architecture
        let layout = architecture.layout
        let channels = architecture.input[0]
        let height = architecture.input[1]
        let width = architecture.input[2]
        let parameters = file.parameters

        var graph = ProtoWriter()
        var nodes: [ProtoWriter] = []
        var initializers: [ProtoWriter] = []
        func slice(_ offset: Int, _ count: Int) -> ArraySlice<Float> { parameters[offset..<(offset + count)] }

        let mean = (0..<channels).map { Float($0 < header.mean.count ? header.mean[$0] : 0.5) }
        let deviation = (0..<channels).map {
            Float($0 < header.standardDeviation.count ? max(header.standardDeviation[$0], 1e-3) : 0.25)
        }
        initializers.append(tensor("scale", dims: [], values: [255]))
        initializers.append(tensor("mean", dims: [1, channels, 1, 1], values: mean[...]))
        initializers.append(tensor("deviation", dims: [1, channels, 1, 1], values: deviation[...]))
        nodes.append(node("Div", inputs: ["pixels", "scale"], output: "unit"))
        nodes.append(node("Sub", inputs: ["unit", "mean"], output: "centred"))
        nodes.append(node("Div", inputs: ["centred", "deviation"], output: "block0"))

        var current = "block0"
        for (index, conv) in layout.convs.enumerated() {
            let weights = "conv\(index).weight"
            let bias = "conv\(index).bias"
            // The trainer's weights are outChannels × (inChannels · 3 · 3) with columns in
            // (channel, ky, kx) order: ONNX's [out, in, kH, kW] row-major, as they are.
            initializers.append(
                tensor(
                    weights, dims: [conv.outChannels, conv.inChannels, 3, 3],
                    values: slice(conv.weights, conv.outChannels * conv.columns)))
            initializers.append(tensor(bias, dims: [conv.outChannels], values: slice(conv.bias, conv.outChannels)))
            nodes.append(
                node(
                    "Conv", inputs: [current, weights, bias], output: "conv\(index)",
                    attributes: [
                        ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), ints("strides", [1, 1]),
                    ]))
            nodes.append(node("Relu", inputs: ["conv\(index)"], output: "relu\(index)"))
            nodes.append(
                node(
                    "MaxPool", inputs: ["relu\(index)"], output: "block\(index + 1)",
                    attributes: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])]))
            current = "block\(index + 1)"
        }
        // Channels, then rows, then columns: the order the dense layer reads its input in.
        nodes.append(node("Flatten", inputs: [current], output: "features", attributes: [int("axis", 1)]))
        initializers.append(
            tensor(
                "dense.weight", dims: [architecture.classes, layout.denseIn],
                values: slice(layout.denseWeights, architecture.classes * layout.denseIn)))
        initializers.append(
            tensor("dense.bias", dims: [architecture.classes], values: slice(layout.denseBias, architecture.classes)))
        nodes.append(
            node(
                "Gemm", inputs: ["features", "dense.weight", "dense.bias"], output: "logits",
                attributes: [int("transB", 1)]))
        nodes.append(node("Softmax", inputs: ["logits"], output: "probabilities", attributes: [int("axis", 1)]))

        for value in nodes { graph.message(1, value) }
        graph.string(2, "image-pipeline-classifier")
        for value in initializers { graph.message(5, value) }
        graph.message(11, valueInfo("pixels", dims: [nil, channels, height, width]))
        graph.message(12, valueInfo("probabilities", dims: [nil, architecture.classes]))

        var model = ProtoWriter()
        model.varint(1, 8)  // ir_version 8 (ONNX 1.10+)
        model.string(2, "image-pipeline")
        model.string(3, producerVersion)
        model.string(
            6,
            "Image classifier trained by pipeline-train. Input `pixels`: float32 [N, \(channels), \(height), \(width)], the image rendered as the training variant \(VariantSpec.compact([header.variant])), values 0-255, channels first; the graph normalises it. Output `probabilities`: float32 [N, \(architecture.classes)] in the order of the `classes` metadata."
        )
        model.message(7, graph)
        var opset = ProtoWriter()
        opset.string(1, "")
        opset.varint(2, 13)
        model.message(8, opset)
        let metadata: [(String, String)] = [
            ("classes", header.classes.joined(separator: "\n")),
            ("input_layout", "NCHW, RGB (or grey), 0-255"),
            ("variant", VariantSpec.compact([header.variant])),
            ("mean", header.mean.map { "\($0)" }.joined(separator: ",")),
            ("standard_deviation", header.standardDeviation.map { "\($0)" }.joined(separator: ",")),
            ("dataset_version", header.datasetVersion),
        ]
        for (key, value) in metadata {
            var entry = ProtoWriter()
            entry.string(1, key)
            entry.string(2, value)
            model.message(14, entry)
        }
        return model.data
    }

    // MARK: - ONNX messages

    private static func tensor(_ name: String, dims: [Int], values: ArraySlice<Float>) -> ProtoWriter {
        var tensor = ProtoWriter()
        for dim in dims { tensor.varint(1, UInt64(dim)) }
        tensor.varint(2, 1)  // FLOAT
        tensor.string(8, name)
        var raw = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        tensor.bytes(9, raw)
        return tensor
    }

    private static func node(
        _ op: String, inputs: [String], output: String, attributes: [ProtoWriter] = []
    ) -> ProtoWriter {
        var node = ProtoWriter()
        for input in inputs { node.string(1, input) }
        node.string(2, output)
        node.string(3, output)
        node.string(4, op)
        for attribute in attributes { node.message(5, attribute) }
        return node
    }

    private static func int(_ name: String, _ value: Int) -> ProtoWriter {
        var attribute = ProtoWriter()
        attribute.string(1, name)
        attribute.varint(3, UInt64(bitPattern: Int64(value)))
        attribute.varint(20, 2)  // INT
        return attribute
    }

    private static func ints(_ name: String, _ values: [Int]) -> ProtoWriter {
        var attribute = ProtoWriter()
        attribute.string(1, name)
        for value in values { attribute.varint(8, UInt64(bitPattern: Int64(value))) }
        attribute.varint(20, 7)  // INTS
        return attribute
    }

    /// A float tensor's type and shape; a nil dimension is the batch (`N`).
    private static func valueInfo(_ name: String, dims: [Int?]) -> ProtoWriter {
        var shape = ProtoWriter()
        for dim in dims {
            var dimension = ProtoWriter()
            if let dim { dimension.varint(1, UInt64(dim)) } else { dimension.string(2, "N") }
            shape.message(1, dimension)
        }
        var tensorType = ProtoWriter()
        tensorType.varint(1, 1)  // FLOAT
        tensorType.message(2, shape)
        var type = ProtoWriter()
        type.message(1, tensorType)
        var info = ProtoWriter()
        info.string(1, name)
        info.message(2, type)
        return info
    }
}

/// Protocol-buffer wire format: varints (wire type 0) and length-delimited fields (wire type 2),
/// all that the ONNX messages above need.
struct ProtoWriter {
    private(set) var data = Data()

    mutating func varint(_ field: Int, _ value: UInt64) {
        key(field, wireType: 0)
        raw(value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Data(value.utf8)) }

    mutating func message(_ field: Int, _ value: ProtoWriter) { bytes(field, value.data) }

    mutating func bytes(_ field: Int, _ value: Data) {
        key(field, wireType: 2)
        raw(UInt64(value.count))
        data.append(value)
    }

    private mutating func key(_ field: Int, wireType: UInt64) { raw(UInt64(field) << 3 | wireType) }

    private mutating func raw(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            data.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        data.append(UInt8(value))
    }
}
