using System.Globalization;
using ProtocolGenerator.Schema;
using static ProtocolGenerator.Emit.Conditions;

namespace ProtocolGenerator.Emit;

/// <summary>
/// Emits <c>Read(ref KafkaReader reader, short version)</c>: fields present at the version in schema order, then the
/// tagged-field section (known tags decoded, unknown ones skipped). Lists are pre-sized with the read count and
/// bytes/records stay slices of the input. Stateless.
/// </summary>
internal static class ReadEmitter
{
    public static void Emit(CodeWriter w, StructContext ctx)
    {
        w.Open("public void Read(ref KafkaReader reader, short version)");
        if (ctx.DeclaresFlexibleLocal)
        {
            w.Line($"bool flexible = {ctx.FlexibleExpression};");
        }

        foreach (var f in ctx.RegularFields)
        {
            var present = f.Versions.Intersect(ctx.Hull);
            var when = InVersions(f.Versions, ctx.Hull);
            w.If(when, () => Field(w, ctx, f, ctx.Compact(f, present), present, scoped: when != "true"));
        }

        w.If(ctx.Flexible, () => TaggedSection(w, ctx));
        w.Close();
    }

    private static void TaggedSection(CodeWriter w, StructContext ctx)
    {
        var tagged = ctx.TaggedFields.Where(f => !f.TaggedVersions.Intersect(ctx.FlexibleHull).IsEmpty).ToList();
        if (tagged.Count == 0)
        {
            w.Line("reader.SkipTaggedFields();");
            return;
        }

        w.Line("uint taggedCount = reader.ReadUnsignedVarInt();");
        w.Open("for (uint t = 0; t < taggedCount; t++)");
        w.Line("uint tag = reader.ReadUnsignedVarInt();");
        w.Line("int size = MessageCodec.ReadTaggedFieldSize(ref reader);");
        w.Open("switch (tag)");
        foreach (var f in tagged)
        {
            var present = f.TaggedVersions.Intersect(ctx.FlexibleHull);
            var when = InVersions(f.TaggedVersions, ctx.FlexibleHull);
            var tag = f.Tag!.Value.ToString(CultureInfo.InvariantCulture);
            w.Line(when == "true" ? $"case {tag}:" : $"case {tag} when {when}:");
            w.Open();
            w.Line("int end = reader.Position + size;");
            Field(w, ctx, f, ctx.Compact(f, present), present, scoped: true);
            w.Line($"MessageCodec.CheckTaggedFieldEnd(ref reader, end, \"{ctx.Owner}.{f.PropertyName}\");");
            w.Line("break;");
            w.Close();
        }

        w.Line("default:");
        w.Open();
        w.Line("reader.Skip(size);");
        w.Line("break;");
        w.Close();
        w.Close();
        w.Close();
    }

    /// <summary>
    /// Reads one field present at every version of <paramref name="present"/>. Unless <paramref name="scoped"/> (already
    /// inside a block of its own), locals are wrapped in a block.
    /// </summary>
    private static void Field(CodeWriter w, StructContext ctx, FieldSpec f, string compact, VersionRange present, bool scoped)
    {
        var p = f.PropertyName;
        var nullable = InVersions(f.NullableVersions, present);
        var nullError = $"MessageCodec.ThrowNullField(\"{ctx.Owner}\", \"{p}\");";
        switch (f.Type.Kind)
        {
            case FieldTypeKind.String:
            case FieldTypeKind.Bytes:
            case FieldTypeKind.Records:
                w.Line($"{p} = {Sized(f.Type.Kind, compact, f.IsNullableProperty ? nullable : "false")};");
                break;
            case FieldTypeKind.Struct:
                var cls = f.Struct!.ClassName;
                void ReadStruct()
                {
                    w.Line($"var s = new {cls}();");
                    w.Line("s.Read(ref reader, version);");
                    w.Line($"{p} = s;");
                }

                if (nullable == "false")
                {
                    OpenScope(w, scoped);
                    ReadStruct();
                    CloseScope(w, scoped);
                }
                else
                {
                    // Nullable structs carry an int8 presence marker: -1 for null, 1 for present.
                    w.Open($"if ({And(nullable, "reader.ReadInt8() < 0")})");
                    w.Line($"{p} = null;");
                    w.Close();
                    w.Open("else");
                    ReadStruct();
                    w.Close();
                }

                break;
            case FieldTypeKind.Array:
                OpenScope(w, scoped);
                w.Line($"int count = {Pick(compact, "reader.ReadCompactArrayLength()", "reader.ReadArrayLength()")};");
                w.Open("if (count < 0)");
                w.If(f.IsNullableProperty ? nullable : "false", () => w.Line($"{p} = null;"), () => w.Line(nullError));
                w.Close();
                w.Open("else");
                w.Line($"var list = new {Types.Bare(f)}(count);");
                w.Open("for (int i = 0; i < count; i++)");
                var element = f.Type.Element!;
                if (element.IsStruct)
                {
                    w.Line($"var item = new {f.Struct!.ClassName}();");
                    w.Line("item.Read(ref reader, version);");
                    w.Line("list.Add(item);");
                }
                else
                {
                    w.Line($"list.Add({Scalar(element.Kind, compact)});");
                }

                w.Close();
                w.Line($"{p} = list;");
                w.Close();
                CloseScope(w, scoped);
                break;
            default:
                w.Line($"{p} = {Scalar(f.Type.Kind, compact)};");
                break;
        }
    }

    internal static void OpenScope(CodeWriter w, bool scoped)
    {
        if (!scoped)
        {
            w.Open();
        }
    }

    internal static void CloseScope(CodeWriter w, bool scoped)
    {
        if (!scoped)
        {
            w.Close();
        }
    }

    private static string Sized(FieldTypeKind kind, string compact, string nullable)
    {
        var name = kind == FieldTypeKind.String ? "String" : "Bytes";
        var nonNull = Pick(compact, $"reader.ReadCompact{name}()", $"reader.Read{name}()");
        var orNull = Pick(compact, $"reader.ReadCompactNullable{name}()", $"reader.ReadNullable{name}()");
        return nullable switch
        {
            "true" => orNull,
            "false" => nonNull,
            _ => Pick(nullable, Paren(orNull), Paren(nonNull)),
        };
    }

    private static string Scalar(FieldTypeKind kind, string compact) => kind switch
    {
        FieldTypeKind.Bool => "reader.ReadBool()",
        FieldTypeKind.Int8 => "reader.ReadInt8()",
        FieldTypeKind.Int16 => "reader.ReadInt16()",
        FieldTypeKind.UInt16 => "reader.ReadUInt16()",
        FieldTypeKind.Int32 => "reader.ReadInt32()",
        FieldTypeKind.UInt32 => "reader.ReadUInt32()",
        FieldTypeKind.Int64 => "reader.ReadInt64()",
        FieldTypeKind.Float64 => "reader.ReadFloat64()",
        FieldTypeKind.Uuid => "reader.ReadUuid()",
        FieldTypeKind.String => Pick(compact, "reader.ReadCompactString()", "reader.ReadString()"),
        _ => throw new InvalidOperationException($"Not a scalar: {kind}."),
    };
}
