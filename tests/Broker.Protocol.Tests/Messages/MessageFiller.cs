using System.Collections;
using System.Reflection;
using ProtocolGenerator.Schema;

namespace Broker.Protocol.Tests.Messages;

/// <summary>
/// Builds generated messages with a distinct non-default value in every field present at a version (lists of one
/// or two elements, nullable fields null every fourth time), driven by the schema and reflection. Deterministic
/// for a given sequence of calls. Not thread-safe.
/// </summary>
internal sealed class MessageFiller
{
    private int _counter;

    public object Create(Type type, IReadOnlyList<FieldSpec> fields, short version)
    {
        var instance = Activator.CreateInstance(type)!;
        foreach (var f in fields)
        {
            if (!f.Versions.Contains(version))
            {
                continue;
            }

            var property = Property(type, f);
            property.SetValue(instance, Value(f, property.PropertyType, version));
        }

        return instance;
    }

    private object? Value(FieldSpec f, Type propertyType, short version)
    {
        var n = ++_counter;
        if (f.NullableVersions.Contains(version) && n % 4 == 0)
        {
            return null;
        }

        switch (f.Type.Kind)
        {
            case FieldTypeKind.Struct:
                return Create(propertyType, f.Struct!.Fields, version);
            case FieldTypeKind.Array:
                var list = (IList)Activator.CreateInstance(propertyType)!;
                var elementType = propertyType.GetGenericArguments()[0];
                for (var i = 0; i < 1 + (n % 2); i++)
                {
                    list.Add(f.Type.Element!.IsStruct
                        ? Create(elementType, f.Struct!.Fields, version)
                        : Scalar(f.Type.Element.Kind, f.Default, ++_counter));
                }

                return list;
            default:
                return Scalar(f.Type.Kind, f.Default, n);
        }
    }

    // Values are chosen outside every default the schemas use (small numbers, -1, int.MinValue, 0x7fffffff...).
    private static object Scalar(FieldTypeKind kind, string? defaultText, int n) => kind switch
    {
        FieldTypeKind.Bool => defaultText is not "true",
        FieldTypeKind.Int8 => (sbyte)(10 + (n % 100)),
        FieldTypeKind.Int16 => (short)(1000 + (n % 30000)),
        FieldTypeKind.UInt16 => (ushort)(40000 + (n % 20000)),
        FieldTypeKind.Int32 => 100_000 + n,
        FieldTypeKind.UInt32 => 3_000_000_000u + (uint)n,
        FieldTypeKind.Int64 => 10_000_000_000L + n,
        FieldTypeKind.Float64 => n + 0.25,
        FieldTypeKind.Uuid => new Guid(n, (short)n, 7, 1, 2, 3, 4, 5, 6, 7, 8),
        FieldTypeKind.String => "s" + n.ToString(System.Globalization.CultureInfo.InvariantCulture),
        FieldTypeKind.Bytes => (ReadOnlyMemory<byte>)new byte[] { 1, 2, (byte)n },
        FieldTypeKind.Records => (ReadOnlyMemory<byte>)new byte[] { 0, 0, 0, 0, 0, 0, 0, (byte)n, 9, 9 },
        _ => throw new InvalidOperationException($"Unexpected {kind}."),
    };

    public static PropertyInfo Property(Type type, FieldSpec f) =>
        type.GetProperty(f.PropertyName, BindingFlags.Public | BindingFlags.Instance)
        ?? throw new InvalidOperationException($"{type.FullName} has no property {f.PropertyName}.");

    /// <summary>Asserts that every field present at <paramref name="version"/> holds equal values in both messages.</summary>
    public static void AssertSameFields(object expected, object actual, IReadOnlyList<FieldSpec> fields, short version, string path)
    {
        foreach (var f in fields)
        {
            if (!f.Versions.Contains(version))
            {
                continue;
            }

            var property = Property(expected.GetType(), f);
            AssertSameValue(f, property.GetValue(expected), property.GetValue(actual), version, path + "." + f.PropertyName);
        }
    }

    private static void AssertSameValue(FieldSpec f, object? expected, object? actual, short version, string path)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, read {actual ?? "null"}.");
            return;
        }

        switch (f.Type.Kind)
        {
            case FieldTypeKind.Struct:
                AssertSameFields(expected, actual, f.Struct!.Fields, version, path);
                break;
            case FieldTypeKind.Array:
                var e = (IList)expected;
                var a = (IList)actual;
                Assert.True(e.Count == a.Count, $"{path}: expected {e.Count} elements, read {a.Count}.");
                for (var i = 0; i < e.Count; i++)
                {
                    if (f.Type.Element!.IsStruct)
                    {
                        AssertSameFields(e[i]!, a[i]!, f.Struct!.Fields, version, $"{path}[{i}]");
                    }
                    else
                    {
                        Assert.True(Equals(e[i], a[i]), $"{path}[{i}]: expected {e[i]}, read {a[i]}.");
                    }
                }

                break;
            case FieldTypeKind.Bytes:
            case FieldTypeKind.Records:
                Assert.True(
                    ((ReadOnlyMemory<byte>)expected).Span.SequenceEqual(((ReadOnlyMemory<byte>)actual).Span),
                    $"{path}: bytes differ.");
                break;
            default:
                Assert.True(Equals(expected, actual), $"{path}: expected {expected}, read {actual}.");
                break;
        }
    }
}
