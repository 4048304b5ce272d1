using System.Globalization;
using ProtocolGenerator.Schema;
using static ProtocolGenerator.Emit.Conditions;

namespace ProtocolGenerator.Emit;

/// <summary>
/// Emits <c>Write(KafkaWriter writer, short version)</c>. A field absent at the version is dropped when it holds
/// its default or is ignorable; otherwise the write fails with UnsupportedVersionException, as Kafka does.
/// Tagged fields are written only when not default, in tag order; fixed-size ones straight into the output,
/// others through a pooled scratch writer to learn their size. Stateless.
/// </summary>
internal static class WriteEmitter
{
    public static void Emit(CodeWriter w, StructContext ctx)
    {
        w.Open("public void Write(KafkaWriter writer, short version)");
        if (ctx.DeclaresFlexibleLocal)
        {
            w.Line($"bool flexible = {ctx.FlexibleExpression};");
        }

        foreach (var f in ctx.RegularFields)
        {
            var present = f.Versions.Intersect(ctx.Hull);
            var when = InVersions(f.Versions, ctx.Hull);
            void Write() => Field(w, ctx, f, ctx.Compact(f, present), present, "writer", scoped: when != "true");
            if (f.Ignorable || when == "true")
            {
                w.If(when, Write);
            }
            else if (when == "false")
            {
                Unsupported(w, ctx, f, "true");
            }
            else
            {
                w.Open($"if ({when})");
                Write();
                w.Close();
                Unsupported(w, ctx, f, "true", "else ");
            }
        }

        foreach (var f in ctx.TaggedFields)
        {
            if (!f.Ignorable)
            {
                Unsupported(w, ctx, f, Not(InVersions(f.TaggedVersions, ctx.Hull)));
            }
        }

        w.If(ctx.Flexible, () => TaggedSection(w, ctx));
        w.Close();
    }

    private static void Unsupported(CodeWriter w, StructContext ctx, FieldSpec f, string absent, string prefix = "")
    {
        var condition = And(absent, Types.NonDefault(f));
        if (condition == "false")
        {
            return;
        }

        w.Open($"{prefix}if ({condition})");
        w.Line($"throw MessageCodec.FieldNotSupported(\"{ctx.Owner}\", \"{f.PropertyName}\", version);");
        w.Close();
    }

    private static void TaggedSection(CodeWriter w, StructContext ctx)
    {
        var tagged = ctx.TaggedFields
            .Select(f => (Field: f, When: And(InVersions(f.TaggedVersions, ctx.FlexibleHull), Types.NonDefault(f))))
            .Where(t => t.When != "false")
            .ToList();
        if (tagged.Count == 0)
        {
            w.Line("writer.WriteUnsignedVarInt(0);");
            return;
        }

        w.Line("uint taggedCount = 0;");
        foreach (var (_, when) in tagged)
        {
            w.Open($"if ({when})");
            w.Line("taggedCount++;");
            w.Close();
        }

        w.Line("writer.WriteUnsignedVarInt(taggedCount);");
        foreach (var (f, when) in tagged)
        {
            var present = f.TaggedVersions.Intersect(ctx.FlexibleHull);
            var compact = ctx.Compact(f, present);
            w.Open($"if ({when})");
            w.Line($"writer.WriteUnsignedVarInt({f.Tag!.Value.ToString(CultureInfo.InvariantCulture)});");
            if (f.Type.FixedSize is { } size)
            {
                w.Line($"writer.WriteUnsignedVarInt({size.ToString(CultureInfo.InvariantCulture)});");
                Field(w, ctx, f, compact, present, "writer", scoped: true);
            }
            else
            {
                w.Open("using (var tagged = new KafkaWriter(256))");
                Field(w, ctx, f, compact, present, "tagged", scoped: true);
                w.Line("writer.WriteUnsignedVarInt((uint)tagged.Position);");
                w.Line("writer.WriteRaw(tagged.WrittenSpan);");
                w.Close();
            }

            w.Close();
        }
    }

    /// <summary>Writes one field present at every version of <paramref name="present"/> to the writer named <paramref name="o"/>.</summary>
    private static void Field(CodeWriter w, StructContext ctx, FieldSpec f, string compact, VersionRange present, string o, bool scoped)
    {
        var p = f.PropertyName;
        var nullable = f.IsNullableProperty ? InVersions(f.NullableVersions, present) : "false";
        var nullError = $"throw MessageCodec.NullNotAllowed(\"{ctx.Owner}\", \"{p}\", version);";
        void Choose(string whenCompact, string otherwise)
        {
            w.If(compact, () => w.Line(whenCompact), () => w.Line(otherwise));
        }

        switch (f.Type.Kind)
        {
            case FieldTypeKind.String:
            case FieldTypeKind.Bytes:
                var name = f.Type.Kind == FieldTypeKind.String ? "String" : "Bytes";
                if (!f.IsNullableProperty)
                {
                    Choose($"{o}.WriteCompact{name}({p});", $"{o}.Write{name}({p});");
                    break;
                }

                if (nullable != "true")
                {
                    w.Open($"if ({And($"{p} is null", Not(nullable))})");
                    w.Line(nullError);
                    w.Close();
                }

                Choose($"{o}.WriteCompactNullable{name}({p});", $"{o}.WriteNullable{name}({p});");
                break;
            case FieldTypeKind.Records:
                // A null record set where the schema does not allow null is written as an empty one.
                var value = Pick(nullable, p, $"({p} ?? ReadOnlyMemory<byte>.Empty)");
                Choose($"{o}.WriteCompactNullableBytes({value});", $"{o}.WriteNullableBytes({value});");
                break;
            case FieldTypeKind.Struct:
                if (!f.IsNullableProperty)
                {
                    w.Line($"{p}.Write({o}, version);");
                    break;
                }

                w.Open($"if ({p} is null)");
                w.If(nullable, () => w.Line($"{o}.WriteInt8(-1);"), () => w.Line(nullError));
                w.Close();
                w.Open("else");
                w.If(nullable, () => w.Line($"{o}.WriteInt8(1);"));
                w.Line($"{p}.Write({o}, version);");
                w.Close();
                break;
            case FieldTypeKind.Array:
                ReadEmitter.OpenScope(w, scoped);
                if (Types.IsLazy(f))
                {
                    // Never touched means empty: write it without allocating the list.
                    w.Line($"var list = {Types.BackingField(f)};");
                    w.Open("if (list is null)");
                    Choose($"{o}.WriteCompactArrayLength(0);", $"{o}.WriteArrayLength(0);");
                    w.Close();
                }
                else
                {
                    w.Line($"var list = {p};");
                    w.Open("if (list is null)");
                    w.If(nullable, () => Choose($"{o}.WriteCompactArrayLength(-1);", $"{o}.WriteArrayLength(-1);"), () => w.Line(nullError));
                    w.Close();
                }

                w.Open("else");
                Choose($"{o}.WriteCompactArrayLength(list.Count);", $"{o}.WriteArrayLength(list.Count);");
                w.Open("for (int i = 0; i < list.Count; i++)");
                var element = f.Type.Element!;
                if (element.IsStruct)
                {
                    w.Line($"list[i].Write({o}, version);");
                }
                else if (element.Kind == FieldTypeKind.String)
                {
                    Choose($"{o}.WriteCompactString(list[i]);", $"{o}.WriteString(list[i]);");
                }
                else
                {
                    w.Line($"{o}.{ScalarWriter(element.Kind)}(list[i]);");
                }

                w.Close();
                w.Close();
                ReadEmitter.CloseScope(w, scoped);
                break;
            default:
                w.Line($"{o}.{ScalarWriter(f.Type.Kind)}({p});");
                break;
        }
    }

    private static string ScalarWriter(FieldTypeKind kind) => kind switch
    {
        FieldTypeKind.Bool => "WriteBool",
        FieldTypeKind.Int8 => "WriteInt8",
        FieldTypeKind.Int16 => "WriteInt16",
        FieldTypeKind.UInt16 => "WriteUInt16",
        FieldTypeKind.Int32 => "WriteInt32",
        FieldTypeKind.UInt32 => "WriteUInt32",
        FieldTypeKind.Int64 => "WriteInt64",
        FieldTypeKind.Float64 => "WriteFloat64",
        FieldTypeKind.Uuid => "WriteUuid",
        _ => throw new InvalidOperationException($"Not a scalar: {kind}."),
    };
}
