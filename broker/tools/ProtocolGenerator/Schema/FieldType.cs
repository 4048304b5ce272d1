namespace ProtocolGenerator.Schema;

public enum FieldTypeKind
{
    Bool,
    Int8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    Float64,
    Uuid,
    String,
    Bytes,
    Records,
    Struct,
    Array,
}

/// <summary>A parsed schema "type": a primitive, a struct name, or "[]element". Immutable; thread-safe.</summary>
public sealed class FieldType
{
    private FieldType(FieldTypeKind kind, string? structName, FieldType? element)
    {
        Kind = kind;
        StructName = structName;
        Element = element;
    }

    public FieldTypeKind Kind { get; }

    /// <summary>The schema's struct type name for <see cref="FieldTypeKind.Struct"/>.</summary>
    public string? StructName { get; }

    /// <summary>Element type for <see cref="FieldTypeKind.Array"/>.</summary>
    public FieldType? Element { get; }

    public bool IsArray => Kind == FieldTypeKind.Array;

    public bool IsStruct => Kind == FieldTypeKind.Struct;

    /// <summary>A struct, or an array of structs: the field carries (or refers to) a struct definition.</summary>
    public bool HasStruct => IsStruct || (IsArray && Element!.IsStruct);

    public string? StructOrElementStructName => IsStruct ? StructName : IsArray ? Element!.StructName : null;

    /// <summary>Encoded size when it does not depend on the value (used to write tagged fields without a scratch buffer).</summary>
    public int? FixedSize => Kind switch
    {
        FieldTypeKind.Bool or FieldTypeKind.Int8 => 1,
        FieldTypeKind.Int16 or FieldTypeKind.UInt16 => 2,
        FieldTypeKind.Int32 or FieldTypeKind.UInt32 => 4,
        FieldTypeKind.Int64 or FieldTypeKind.Float64 => 8,
        FieldTypeKind.Uuid => 16,
        _ => null,
    };

    public static FieldType Parse(string text)
    {
        if (text.StartsWith("[]", StringComparison.Ordinal))
        {
            var element = Parse(text[2..]);
            if (element.IsArray || element.Kind is FieldTypeKind.Bytes or FieldTypeKind.Records)
            {
                throw new FormatException($"Unsupported array element type '{text}'.");
            }

            return new FieldType(FieldTypeKind.Array, null, element);
        }

        return text switch
        {
            "bool" => new FieldType(FieldTypeKind.Bool, null, null),
            "int8" => new FieldType(FieldTypeKind.Int8, null, null),
            "int16" => new FieldType(FieldTypeKind.Int16, null, null),
            "uint16" => new FieldType(FieldTypeKind.UInt16, null, null),
            "int32" => new FieldType(FieldTypeKind.Int32, null, null),
            "uint32" => new FieldType(FieldTypeKind.UInt32, null, null),
            "int64" => new FieldType(FieldTypeKind.Int64, null, null),
            "float64" => new FieldType(FieldTypeKind.Float64, null, null),
            "uuid" => new FieldType(FieldTypeKind.Uuid, null, null),
            "string" => new FieldType(FieldTypeKind.String, null, null),
            "bytes" => new FieldType(FieldTypeKind.Bytes, null, null),
            "records" => new FieldType(FieldTypeKind.Records, null, null),
            _ when text.Length > 0 && char.IsUpper(text[0]) => new FieldType(FieldTypeKind.Struct, text, null),
            _ => throw new FormatException($"Unknown field type '{text}'."),
        };
    }

    public override string ToString() => Kind switch
    {
        FieldTypeKind.Array => "[]" + Element,
        FieldTypeKind.Struct => StructName!,
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
