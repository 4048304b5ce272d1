namespace ProtocolGenerator.Schema;

/// <summary>One field of a message or struct, as declared in the schema. Immutable after loading.</summary>
public sealed class FieldSpec
{
    public required string Name { get; init; }

    /// <summary>The C# property name: the schema name with its first letter upper-cased.</summary>
    public required string PropertyName { get; init; }

    public required FieldType Type { get; init; }

    /// <summary>Versions in which the field is present (for tagged fields, the tagged versions).</summary>
    public required VersionRange Versions { get; init; }

    public required VersionRange NullableVersions { get; init; }

    public required VersionRange TaggedVersions { get; init; }

    /// <summary>Field-level override of the message's flexible versions (<see cref="VersionRange.All"/> when absent).</summary>
    public required VersionRange FlexibleVersions { get; init; }

    public int? Tag { get; init; }

    public bool Ignorable { get; init; }

    /// <summary>The raw "default" text, or null when the schema gives none.</summary>
    public string? Default { get; init; }

    public string? About { get; init; }

    /// <summary>The struct this field holds (struct or array of structs); resolved after loading.</summary>
    public StructSpec? Struct { get; internal set; }

    public bool IsTagged => Tag is not null;

    /// <summary>Whether the C# property type is nullable (records are always nullable).</summary>
    public bool IsNullableProperty => !NullableVersions.IsEmpty || Type.Kind == FieldTypeKind.Records;

    public bool DefaultIsNull => Default == "null";
}

/// <summary>A struct type: the fields of an array/struct field or a common struct. Mutable only while loading.</summary>
public sealed class StructSpec
{
    public required string SchemaName { get; init; }

    /// <summary>The nested C# class name (the schema name, suffixed "Data" on a collision).</summary>
    public string ClassName { get; internal set; } = "";

    public required IReadOnlyList<FieldSpec> Fields { get; init; }

    /// <summary>"about" of the first field declaring it, used as the class summary.</summary>
    public string? About { get; init; }

    /// <summary>Smallest range holding every version in which the struct can be read or written.</summary>
    public VersionRange Hull { get; internal set; } = VersionRange.None;

    /// <summary>Needs an HasOnlyDefaults() method (held by a non-array struct field somewhere).</summary>
    public bool NeedsHasOnlyDefaults { get; internal set; }
}

/// <summary>One schema file. Mutable only while loading.</summary>
public sealed class MessageSpec
{
    public required string Name { get; init; }

    /// <summary>request, response, header, data or metadata.</summary>
    public required string Kind { get; init; }

    public short? ApiKey { get; init; }

    public required VersionRange ValidVersions { get; init; }

    public required VersionRange FlexibleVersions { get; init; }

    public required IReadOnlyList<string> Listeners { get; init; }

    public bool LatestVersionUnstable { get; init; }

    public required IReadOnlyList<FieldSpec> Fields { get; init; }

    /// <summary>Every struct type of the message, in a stable order (inline structs depth-first, then common structs).</summary>
    public required IReadOnlyList<StructSpec> Structs { get; init; }

    /// <summary>Path relative to the schema root with forward slashes, e.g. "clients/ProduceRequest.json".</summary>
    public required string SourcePath { get; init; }

    /// <summary>Output folder below Broker.Protocol ("Messages" or "Metadata").</summary>
    public required string Folder { get; init; }

    public string Namespace => "Broker.Protocol." + Folder;

    public bool IsApiMessage => Kind is "request" or "response";
}
