using ProtocolGenerator.Schema;

namespace ProtocolGenerator.Emit;

/// <summary>What the Read/Write emitters need to know about the class they are writing. Immutable.</summary>
internal sealed class StructContext
{
    public StructContext(MessageSpec message, string owner, IReadOnlyList<FieldSpec> fields, VersionRange hull)
    {
        Message = message;
        Owner = owner;
        Fields = fields;
        Hull = hull;
        FlexibleExpression = Conditions.InVersions(message.FlexibleVersions, hull);
        FlexibleHull = hull.Intersect(message.FlexibleVersions);
    }

    public MessageSpec Message { get; }

    /// <summary>Name used in error messages, e.g. "ProduceRequest.TopicProduceData".</summary>
    public string Owner { get; }

    public IReadOnlyList<FieldSpec> Fields { get; }

    /// <summary>Every version this class can be read or written at.</summary>
    public VersionRange Hull { get; }

    /// <summary>The versions of <see cref="Hull"/> that are flexible (where the tagged-field section exists).</summary>
    public VersionRange FlexibleHull { get; }

    /// <summary>"true", "false", or an expression stored in the local "flexible".</summary>
    public string FlexibleExpression { get; }

    public bool DeclaresFlexibleLocal => FlexibleExpression is not ("true" or "false");

    public string Flexible => DeclaresFlexibleLocal ? "flexible" : FlexibleExpression;

    /// <summary>Regular fields in declaration order, tagged fields in tag order.</summary>
    public IEnumerable<FieldSpec> RegularFields => Fields.Where(f => !f.IsTagged);

    public IEnumerable<FieldSpec> TaggedFields => Fields.Where(f => f.IsTagged).OrderBy(f => f.Tag);

    /// <summary>Whether strings, bytes and arrays of <paramref name="field"/> use the compact encoding, at versions in <paramref name="hull"/>.</summary>
    public string Compact(FieldSpec field, VersionRange hull)
    {
        var range = Message.FlexibleVersions.Intersect(field.FlexibleVersions);
        var condition = Conditions.InVersions(range, hull);
        if (condition is "true" or "false")
        {
            return condition;
        }

        return DeclaresFlexibleLocal && range == Message.FlexibleVersions ? "flexible" : condition;
    }
}
