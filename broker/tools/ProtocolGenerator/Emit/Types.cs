using System.Globalization;
using System.Numerics;
using System.Text;
using ProtocolGenerator.Schema;

namespace ProtocolGenerator.Emit;

/// <summary>C# types, default values and "is not default" tests for schema fields. Stateless.</summary>
internal static class Types
{
    public static string Element(FieldType type) => type.Kind switch
    {
        FieldTypeKind.Bool => "bool",
        FieldTypeKind.Int8 => "sbyte",
        FieldTypeKind.Int16 => "short",
        FieldTypeKind.UInt16 => "ushort",
        FieldTypeKind.Int32 => "int",
        FieldTypeKind.UInt32 => "uint",
        FieldTypeKind.Int64 => "long",
        FieldTypeKind.Float64 => "double",
        FieldTypeKind.Uuid => "Guid",
        FieldTypeKind.String => "string",
        FieldTypeKind.Bytes or FieldTypeKind.Records => "ReadOnlyMemory<byte>",
        _ => throw new InvalidOperationException($"No element type for {type}."),
    };

    /// <summary>The property type without nullability annotation.</summary>
    public static string Bare(FieldSpec f) => f.Type.Kind switch
    {
        FieldTypeKind.Struct => f.Struct!.ClassName,
        FieldTypeKind.Array => $"List<{(f.Type.Element!.IsStruct ? f.Struct!.ClassName : Element(f.Type.Element))}>",
        _ => Element(f.Type),
    };

    public static string Property(FieldSpec f) => f.IsNullableProperty ? Bare(f) + "?" : Bare(f);

    /// <summary>
    /// Non-nullable arrays and structs are created on first access, so that reading a message (which assigns
    /// them) never allocates a default instance only to throw it away.
    /// </summary>
    public static bool IsLazy(FieldSpec f) => !f.IsNullableProperty && f.Type.Kind is FieldTypeKind.Array or FieldTypeKind.Struct;

    public static string BackingField(FieldSpec f) => "_" + char.ToLowerInvariant(f.PropertyName[0]) + f.PropertyName[1..];

    public static string DefaultUuidField(FieldSpec f) => "Default" + f.PropertyName;

    /// <summary>The property initializer, or null when the CLR default is already the schema default.</summary>
    public static string? Initializer(FieldSpec f)
    {
        if (IsLazy(f) || f.DefaultIsNull || f.Type.Kind == FieldTypeKind.Records)
        {
            return null;
        }

        switch (f.Type.Kind)
        {
            case FieldTypeKind.Array:
            case FieldTypeKind.Struct:
                return "new()"; // nullable, but defaulting to an empty instance
            case FieldTypeKind.Bytes:
                return f.IsNullableProperty ? "ReadOnlyMemory<byte>.Empty" : null;
            case FieldTypeKind.String:
                return StringLiteral(f.Default ?? "");
            case FieldTypeKind.Uuid:
                return UuidBytes(f) is null ? null : DefaultUuidField(f);
            default:
                var value = ScalarLiteral(f);
                return value is "0" or "false" or "0d" ? null : value;
        }
    }

    /// <summary>A C# expression that is true when the field holds something other than its schema default.</summary>
    public static string NonDefault(FieldSpec f)
    {
        var p = f.PropertyName;
        switch (f.Type.Kind)
        {
            case FieldTypeKind.Bool:
                return ScalarLiteral(f) == "true" ? "!" + p : p;
            case FieldTypeKind.Uuid:
                return UuidBytes(f) is null ? $"{p} != Guid.Empty" : $"{p} != {DefaultUuidField(f)}";
            case FieldTypeKind.String:
                if (f.DefaultIsNull)
                {
                    return $"{p} is not null";
                }

                var s = f.Default ?? "";
                if (s.Length == 0)
                {
                    return f.IsNullableProperty ? $"{p} is not {{ Length: 0 }}" : $"{p}.Length != 0";
                }

                return $"!string.Equals({p}, {StringLiteral(s)}, StringComparison.Ordinal)";
            case FieldTypeKind.Bytes:
                if (f.DefaultIsNull)
                {
                    return $"{p} is not null";
                }

                return f.IsNullableProperty ? $"{p} is not {{ IsEmpty: true }}" : $"!{p}.IsEmpty";
            case FieldTypeKind.Records:
                return $"{p} is not null";
            case FieldTypeKind.Array:
                if (IsLazy(f))
                {
                    return $"{BackingField(f)} is {{ Count: > 0 }}";
                }

                return f.DefaultIsNull ? $"{p} is not null" : $"{p} is not {{ Count: 0 }}";
            case FieldTypeKind.Struct:
                if (IsLazy(f))
                {
                    return $"({BackingField(f)} is not null && !{BackingField(f)}.HasOnlyDefaults())";
                }

                return f.DefaultIsNull ? $"{p} is not null" : $"({p} is null || !{p}.HasOnlyDefaults())";
            default:
                return $"{p} != {ScalarLiteral(f)}";
        }
    }

    public static string ScalarLiteral(FieldSpec f)
    {
        var text = f.Default;
        switch (f.Type.Kind)
        {
            case FieldTypeKind.Bool:
                if (text is null)
                {
                    return "false";
                }

                return text.ToLowerInvariant() switch
                {
                    "true" => "true",
                    "false" => "false",
                    _ => throw new InvalidDataException($"Invalid bool default '{text}' for {f.Name}."),
                };
            case FieldTypeKind.Float64:
                if (text is null)
                {
                    return "0d";
                }

                var d = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                return d.ToString("R", CultureInfo.InvariantCulture) + "d";
            default:
                return IntegerLiteral(f.Type.Kind, text ?? "0", f.Name);
        }
    }

    private static string IntegerLiteral(FieldTypeKind kind, string text, string field)
    {
        var negative = text.StartsWith('-');
        var digits = negative ? text[1..] : text;
        BigInteger value = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? BigInteger.Parse("0" + digits[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        if (negative)
        {
            value = -value;
        }

        var (min, max, name) = kind switch
        {
            FieldTypeKind.Int8 => ((BigInteger)sbyte.MinValue, (BigInteger)sbyte.MaxValue, "sbyte"),
            FieldTypeKind.Int16 => (short.MinValue, short.MaxValue, "short"),
            FieldTypeKind.UInt16 => (ushort.MinValue, ushort.MaxValue, "ushort"),
            FieldTypeKind.Int32 => (int.MinValue, int.MaxValue, "int"),
            FieldTypeKind.UInt32 => (uint.MinValue, uint.MaxValue, "uint"),
            FieldTypeKind.Int64 => (long.MinValue, (BigInteger)long.MaxValue, "long"),
            _ => throw new InvalidDataException($"Field {field} of kind {kind} has no integer default."),
        };
        if (value < min || value > max)
        {
            throw new InvalidDataException($"Default {text} of {field} does not fit in {name}.");
        }

        if (value == min && min < 0)
        {
            return name + ".MinValue";
        }

        var literal = value.ToString(CultureInfo.InvariantCulture);
        return kind == FieldTypeKind.Int64 && (value > int.MaxValue || value < int.MinValue) ? literal + "L" : literal;
    }

    /// <summary>The 16 bytes of a non-zero uuid default (Kafka's URL-safe base64 form), or null for the zero uuid.</summary>
    public static byte[]? UuidBytes(FieldSpec f)
    {
        if (f.Default is null)
        {
            return null;
        }

        var b64 = f.Default.Replace('-', '+').Replace('_', '/');
        b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
        var bytes = Convert.FromBase64String(b64);
        if (bytes.Length != 16)
        {
            throw new InvalidDataException($"Uuid default of {f.Name} is not 16 bytes.");
        }

        return bytes.All(b => b == 0) ? null : bytes;
    }

    /// <summary>A Guid literal for big-endian uuid bytes (Guid's string form lists big-endian bytes in order).</summary>
    public static string GuidLiteral(byte[] bytes)
    {
        var hex = Convert.ToHexStringLower(bytes);
        return $"new Guid(\"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}\")";
    }

    public static string StringLiteral(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                default:
                    if (c < ' ' || c > '~')
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }

    public static string XmlEscape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal)
            .Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal);
}
