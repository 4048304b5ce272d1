using System.Text.Json;

namespace ProtocolGenerator.Schema;

/// <summary>
/// Reads Kafka's message schema JSON (with its // comments) into <see cref="MessageSpec"/>s, resolves struct
/// references, assigns C# class names and computes the versions each struct can appear in. Stateless.
/// </summary>
public static class SchemaLoader
{
    /// <summary>Schema sub-folders that are generated, and the Broker.Protocol folder each goes to.</summary>
    public static IReadOnlyList<(string SchemaFolder, string OutputFolder)> Sources { get; } =
    [
        ("clients", "Messages"),
        ("metadata", "Metadata"),
        ("raft", "Metadata"),
        ("group-coordinator", "Coordinator"),
    ];

    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    // Members every generated top-level class declares; a schema field with one of these names cannot be a property.
    private static readonly HashSet<string> TopLevelMembers =
        new(StringComparer.Ordinal) { "ApiKey", "LowestSupportedVersion", "HighestSupportedVersion", "IsFlexible", "Read", "Write" };

    private static readonly HashSet<string> StructMembers = new(StringComparer.Ordinal) { "Read", "Write", "HasOnlyDefaults" };

    /// <summary>Loads every schema of <see cref="Sources"/>, ordered by output folder then name.</summary>
    public static IReadOnlyList<MessageSpec> LoadAll(string schemaRoot)
    {
        if (!Directory.Exists(schemaRoot))
        {
            throw new DirectoryNotFoundException($"Kafka schema directory '{schemaRoot}' does not exist.");
        }

        var messages = new List<MessageSpec>();
        foreach (var (schemaFolder, outputFolder) in Sources)
        {
            var dir = Path.Combine(schemaRoot, schemaFolder);
            if (!Directory.Exists(dir))
            {
                throw new DirectoryNotFoundException($"Kafka schema directory '{dir}' does not exist.");
            }

            var files = Directory.GetFiles(dir, "*.json");
            Array.Sort(files, StringComparer.Ordinal);
            foreach (var file in files)
            {
                var relative = schemaFolder + "/" + Path.GetFileName(file);
                messages.Add(Load(File.ReadAllText(file), relative, outputFolder));
            }
        }

        messages.Sort((a, b) =>
        {
            var byFolder = string.CompareOrdinal(a.Folder, b.Folder);
            return byFolder != 0 ? byFolder : string.CompareOrdinal(a.Name, b.Name);
        });

        for (var i = 1; i < messages.Count; i++)
        {
            if (messages[i].Folder == messages[i - 1].Folder && messages[i].Name == messages[i - 1].Name)
            {
                throw new InvalidDataException($"Two schemas define {messages[i].Name} ({messages[i - 1].SourcePath}, {messages[i].SourcePath}).");
            }
        }

        return messages;
    }

    /// <summary>Parses one schema file's text.</summary>
    public static MessageSpec Load(string json, string sourcePath, string outputFolder)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, JsonOptions);
            return Build(doc.RootElement, sourcePath, outputFolder);
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or OverflowException)
        {
            throw new InvalidDataException($"{sourcePath}: {e.Message}", e);
        }
    }

    private static MessageSpec Build(JsonElement root, string sourcePath, string outputFolder)
    {
        var name = RequiredString(root, "name");
        var valid = VersionRange.Parse(RequiredString(root, "validVersions"), VersionRange.None);
        var flexible = VersionRange.Parse(OptionalString(root, "flexibleVersions"), VersionRange.None);
        if (!flexible.IsEmpty && !flexible.IsOpenEnded)
        {
            throw new InvalidDataException($"{sourcePath}: flexibleVersions must be 'N+' or 'none'.");
        }

        var structs = new List<StructSpec?>();
        var fields = ParseFields(root.GetProperty("fields"), structs, sourcePath);
        if (root.TryGetProperty("commonStructs", out var common))
        {
            foreach (var cs in common.EnumerateArray())
            {
                var slot = structs.Count;
                structs.Add(null);
                structs[slot] = new StructSpec
                {
                    SchemaName = RequiredString(cs, "name"),
                    Fields = ParseFields(cs.GetProperty("fields"), structs, sourcePath),
                };
            }
        }

        var listeners = new List<string>();
        if (root.TryGetProperty("listeners", out var listenerArray))
        {
            foreach (var l in listenerArray.EnumerateArray())
            {
                listeners.Add(l.GetString() ?? "");
            }
        }

        var message = new MessageSpec
        {
            Name = name,
            Kind = RequiredString(root, "type"),
            ApiKey = root.TryGetProperty("apiKey", out var key) ? checked((short)Int(key)) : null,
            ValidVersions = valid,
            FlexibleVersions = flexible,
            Listeners = listeners,
            LatestVersionUnstable = root.TryGetProperty("latestVersionUnstable", out var unstable) && Bool(unstable),
            Fields = fields,
            Structs = structs.Select(s => s!).ToList(),
            SourcePath = sourcePath,
            Folder = outputFolder,
        };

        Resolve(message);
        return message;
    }

    private static List<FieldSpec> ParseFields(JsonElement array, List<StructSpec?> structs, string sourcePath)
    {
        var result = new List<FieldSpec>();
        foreach (var f in array.EnumerateArray())
        {
            var name = RequiredString(f, "name");
            var type = FieldType.Parse(RequiredString(f, "type"));
            var tagged = VersionRange.Parse(OptionalString(f, "taggedVersions"), VersionRange.None);
            var versionsText = OptionalString(f, "versions");
            if (versionsText is null && tagged.IsEmpty)
            {
                throw new InvalidDataException($"{sourcePath}: field {name} has no versions.");
            }

            var versions = VersionRange.Parse(versionsText, tagged);
            int? tag = f.TryGetProperty("tag", out var tagElement) ? Int(tagElement) : null;
            if ((tag is null) != tagged.IsEmpty)
            {
                throw new InvalidDataException($"{sourcePath}: field {name} must have both tag and taggedVersions, or neither.");
            }

            if (tag is not null && versions != tagged)
            {
                throw new InvalidDataException($"{sourcePath}: tagged field {name} must be tagged in all of its versions.");
            }

            var field = new FieldSpec
            {
                Name = name,
                PropertyName = char.ToUpperInvariant(name[0]) + name[1..],
                Type = type,
                Versions = versions,
                NullableVersions = VersionRange.Parse(OptionalString(f, "nullableVersions"), VersionRange.None),
                TaggedVersions = tagged,
                FlexibleVersions = VersionRange.Parse(OptionalString(f, "flexibleVersions"), VersionRange.All),
                Tag = tag,
                Ignorable = f.TryGetProperty("ignorable", out var ign) && Bool(ign),
                Default = f.TryGetProperty("default", out var def) ? DefaultText(def) : null,
                About = OptionalString(f, "about"),
            };

            if (!field.NullableVersions.IsEmpty && type.Kind is not (FieldTypeKind.String or FieldTypeKind.Bytes
                    or FieldTypeKind.Records or FieldTypeKind.Array or FieldTypeKind.Struct))
            {
                throw new InvalidDataException($"{sourcePath}: field {name} of type {type} cannot be nullable.");
            }

            if (field.DefaultIsNull && field.NullableVersions.IsEmpty)
            {
                throw new InvalidDataException($"{sourcePath}: field {name} defaults to null but is never nullable.");
            }

            if (f.TryGetProperty("fields", out var nested))
            {
                if (!type.HasStruct)
                {
                    throw new InvalidDataException($"{sourcePath}: field {name} has fields but type {type}.");
                }

                var slot = structs.Count;
                structs.Add(null);
                structs[slot] = new StructSpec
                {
                    SchemaName = type.StructOrElementStructName!,
                    Fields = ParseFields(nested, structs, sourcePath),
                    About = field.About,
                };
            }

            result.Add(field);
        }

        return result;
    }

    private static void Resolve(MessageSpec message)
    {
        var byName = new Dictionary<string, StructSpec>(StringComparer.Ordinal);
        foreach (var s in message.Structs)
        {
            if (!byName.TryAdd(s.SchemaName, s))
            {
                throw new InvalidDataException($"{message.SourcePath}: struct {s.SchemaName} is defined twice.");
            }
        }

        var topNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in message.Fields)
        {
            if (!topNames.Add(f.PropertyName) || TopLevelMembers.Contains(f.PropertyName) || f.PropertyName == message.Name)
            {
                throw new InvalidDataException($"{message.SourcePath}: field {f.Name} collides with a generated member.");
            }
        }

        ResolveFields(message.Fields, byName, message.SourcePath);
        var classNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in message.Structs)
        {
            ResolveFields(s.Fields, byName, message.SourcePath);
            var own = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in s.Fields)
            {
                if (!own.Add(f.PropertyName) || StructMembers.Contains(f.PropertyName))
                {
                    throw new InvalidDataException($"{message.SourcePath}: field {s.SchemaName}.{f.Name} collides with a generated member.");
                }
            }

            // The naming rule: a struct keeps its schema name unless that name is the message class name, a property
            // of the message class, or a property of the struct itself (C# forbids a member named like its type);
            // then it gets the suffix "Data".
            bool Collides(string n) => n == message.Name || topNames.Contains(n) || own.Contains(n)
                || TopLevelMembers.Contains(n) || StructMembers.Contains(n);
            var className = Collides(s.SchemaName) ? s.SchemaName + "Data" : s.SchemaName;
            if (Collides(className) || !classNames.Add(className))
            {
                throw new InvalidDataException($"{message.SourcePath}: cannot find a free class name for struct {s.SchemaName}.");
            }

            s.ClassName = className;
        }

        ComputeHulls(message.Fields, message.ValidVersions);
        foreach (var s in message.Structs)
        {
            if (s.Hull.IsEmpty)
            {
                s.Hull = message.ValidVersions;
            }
        }

        ValidateTags(message);
        MarkHasOnlyDefaults(message);
    }

    private static void ResolveFields(IReadOnlyList<FieldSpec> fields, Dictionary<string, StructSpec> byName, string sourcePath)
    {
        foreach (var f in fields)
        {
            if (f.Type.HasStruct)
            {
                var name = f.Type.StructOrElementStructName!;
                f.Struct = byName.TryGetValue(name, out var s)
                    ? s
                    : throw new InvalidDataException($"{sourcePath}: field {f.Name} refers to unknown struct {name}.");
            }
        }
    }

    private static void ComputeHulls(IReadOnlyList<FieldSpec> fields, VersionRange hull)
    {
        foreach (var f in fields)
        {
            var present = f.Versions.Intersect(hull);
            if (f.Struct is null || present.IsEmpty)
            {
                continue;
            }

            f.Struct.Hull = f.Struct.Hull.Hull(present);
            ComputeHulls(f.Struct.Fields, present);
        }
    }

    private static void ValidateTags(MessageSpec message)
    {
        void Check(IReadOnlyList<FieldSpec> fields, string owner)
        {
            var tags = new HashSet<int>();
            foreach (var f in fields)
            {
                if (f.Tag is not { } tag)
                {
                    continue;
                }

                if (tag < 0 || !tags.Add(tag))
                {
                    throw new InvalidDataException($"{message.SourcePath}: duplicate or negative tag {tag} in {owner}.");
                }

                if (!message.FlexibleVersions.Covers(f.TaggedVersions.Intersect(message.ValidVersions)))
                {
                    throw new InvalidDataException($"{message.SourcePath}: tagged field {owner}.{f.Name} is tagged in non-flexible versions.");
                }
            }
        }

        Check(message.Fields, message.Name);
        foreach (var s in message.Structs)
        {
            Check(s.Fields, s.SchemaName);
        }
    }

    // HasOnlyDefaults() is needed by every struct held in a non-array struct field (tagged-field and version checks).
    private static void MarkHasOnlyDefaults(MessageSpec message)
    {
        foreach (var f in message.Fields.Concat(message.Structs.SelectMany(s => s.Fields)))
        {
            if (f.Type.IsStruct)
            {
                f.Struct!.NeedsHasOnlyDefaults = true;
            }
        }
    }

    private static string RequiredString(JsonElement e, string property) =>
        OptionalString(e, property) ?? throw new InvalidDataException($"Missing '{property}'.");

    private static string? OptionalString(JsonElement e, string property) =>
        e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // The schemas are not consistent about quoting numbers and booleans.
    private static int Int(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? int.Parse(e.GetString()!, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture)
        : e.GetInt32();

    private static bool Bool(JsonElement e) => e.ValueKind == JsonValueKind.String ? bool.Parse(e.GetString()!) : e.GetBoolean();

    private static string DefaultText(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Number => e.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null", // one group-coordinator schema writes a JSON null rather than the string "null"
        _ => throw new InvalidDataException($"Unsupported default {e.GetRawText()}."),
    };
}
