using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Kube.ApiServer.Http;

/// <summary>
/// Decodes the Kubernetes protobuf request bodies kubectl's imperative commands send (<c>kubectl create namespace |
/// configmap | secret | serviceaccount | role | rolebinding | clusterrole | clusterrolebinding</c>) into the JSON the
/// rest of the fixture works on. The envelope is the 4-byte magic <c>k8s\0</c> and a runtime.Unknown (typeMeta = 1,
/// raw = 2); raw is the object in the field numbering of k8s.io/api's generated.proto, declared below for those kinds
/// only. Other kinds are refused with 415 naming what is supported. Stateless; thread-safe.
/// </summary>
internal static class ProtobufBodies
{
    public const string ContentType = "application/vnd.kubernetes.protobuf";

    private static readonly byte[] Magic = [0x6b, 0x38, 0x73, 0x00];

    private enum Kind
    {
        String,
        Bytes,
        Bool,
        Int64,
        Message,
        MapStringString,
        MapStringBytes,
        Time,
    }

    private sealed record Field(string Name, Kind Kind, Dictionary<int, Field>? Message = null, bool Repeated = false);

    private static readonly Dictionary<int, Field> OwnerReference = new()
    {
        [5] = new("apiVersion", Kind.String),
        [1] = new("kind", Kind.String),
        [3] = new("name", Kind.String),
        [4] = new("uid", Kind.String),
        [6] = new("controller", Kind.Bool),
        [7] = new("blockOwnerDeletion", Kind.Bool),
    };

    private static readonly Dictionary<int, Field> ObjectMeta = new()
    {
        [1] = new("name", Kind.String),
        [2] = new("generateName", Kind.String),
        [3] = new("namespace", Kind.String),
        [5] = new("uid", Kind.String),
        [6] = new("resourceVersion", Kind.String),
        [7] = new("generation", Kind.Int64),
        [8] = new("creationTimestamp", Kind.Time),
        [9] = new("deletionTimestamp", Kind.Time),
        [10] = new("deletionGracePeriodSeconds", Kind.Int64),
        [11] = new("labels", Kind.MapStringString),
        [12] = new("annotations", Kind.MapStringString),
        [13] = new("ownerReferences", Kind.Message, OwnerReference, Repeated: true),
        [14] = new("finalizers", Kind.String, Repeated: true),
    };

    private static readonly Dictionary<int, Field> ObjectReference = new()
    {
        [1] = new("kind", Kind.String),
        [2] = new("namespace", Kind.String),
        [3] = new("name", Kind.String),
        [4] = new("uid", Kind.String),
        [5] = new("apiVersion", Kind.String),
        [6] = new("resourceVersion", Kind.String),
        [7] = new("fieldPath", Kind.String),
    };

    private static readonly Dictionary<int, Field> PolicyRule = new()
    {
        [1] = new("verbs", Kind.String, Repeated: true),
        [2] = new("apiGroups", Kind.String, Repeated: true),
        [3] = new("resources", Kind.String, Repeated: true),
        [4] = new("resourceNames", Kind.String, Repeated: true),
        [5] = new("nonResourceURLs", Kind.String, Repeated: true),
    };

    private static readonly Dictionary<int, Field> Subject = new()
    {
        [1] = new("kind", Kind.String),
        [2] = new("apiGroup", Kind.String),
        [3] = new("name", Kind.String),
        [4] = new("namespace", Kind.String),
    };

    private static readonly Dictionary<int, Field> RoleRef = new()
    {
        [1] = new("apiGroup", Kind.String),
        [2] = new("kind", Kind.String),
        [3] = new("name", Kind.String),
    };

    private static readonly Dictionary<int, Field> Role = new()
    {
        [1] = new("metadata", Kind.Message, ObjectMeta),
        [2] = new("rules", Kind.Message, PolicyRule, Repeated: true),
    };

    private static readonly Dictionary<int, Field> RoleBinding = new()
    {
        [1] = new("metadata", Kind.Message, ObjectMeta),
        [2] = new("subjects", Kind.Message, Subject, Repeated: true),
        [3] = new("roleRef", Kind.Message, RoleRef),
    };

    /// <summary>apiVersion/kind to the object's message.</summary>
    private static readonly Dictionary<(string ApiVersion, string Kind), Dictionary<int, Field>> Objects = new()
    {
        [("v1", "Namespace")] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("spec", Kind.Message, new() { [1] = new("finalizers", Kind.String, Repeated: true) }),
        },
        [("v1", "ConfigMap")] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("data", Kind.MapStringString),
            [3] = new("binaryData", Kind.MapStringBytes),
            [4] = new("immutable", Kind.Bool),
        },
        [("v1", "Secret")] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("data", Kind.MapStringBytes),
            [3] = new("type", Kind.String),
            [4] = new("stringData", Kind.MapStringString),
            [5] = new("immutable", Kind.Bool),
        },
        [("v1", "ServiceAccount")] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("secrets", Kind.Message, ObjectReference, Repeated: true),
            [3] = new("imagePullSecrets", Kind.Message, new() { [1] = new("name", Kind.String) }, Repeated: true),
            [4] = new("automountServiceAccountToken", Kind.Bool),
        },
        [("rbac.authorization.k8s.io/v1", "Role")] = Role,
        [("rbac.authorization.k8s.io/v1", "ClusterRole")] = Role,
        [("rbac.authorization.k8s.io/v1", "RoleBinding")] = RoleBinding,
        [("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")] = RoleBinding,
    };

    public static bool IsProtobuf(string? contentType) => contentType?.StartsWith(ContentType, StringComparison.Ordinal) == true;

    /// <summary>The JSON form of a protobuf body; 400 for a malformed one, 415 for a kind it does not know.</summary>
    public static JsonObject Decode(byte[] body)
    {
        if (body.Length < Magic.Length || !body.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw ApiError.BadRequest("provided protobuf data does not start with the Kubernetes magic prefix");
        }

        try
        {
            var envelope = body.AsMemory(Magic.Length);
            string? apiVersion = null;
            string? kind = null;
            ReadOnlyMemory<byte> raw = default;
            var reader = new Reader(envelope);
            while (reader.TryReadField(out var number, out var wireType))
            {
                switch (number)
                {
                    case 1 when wireType == 2:
                        var typeMeta = new Reader(reader.ReadBytes());
                        while (typeMeta.TryReadField(out var n, out var w))
                        {
                            if (n == 1 && w == 2)
                            {
                                apiVersion = typeMeta.ReadString();
                            }
                            else if (n == 2 && w == 2)
                            {
                                kind = typeMeta.ReadString();
                            }
                            else
                            {
                                typeMeta.Skip(w);
                            }
                        }

                        break;
                    case 2 when wireType == 2:
                        raw = reader.ReadBytes();
                        break;
                    default:
                        reader.Skip(wireType);
                        break;
                }
            }

            if (apiVersion is null || kind is null || !Objects.TryGetValue((apiVersion, kind), out var message))
            {
                throw ApiError.UnsupportedMediaType(
                    $"the kube-apiserver fixture decodes protobuf bodies only for {string.Join(", ", Objects.Keys.Select(k => k.Kind))}; send {apiVersion}/{kind} as application/json");
            }

            var obj = DecodeMessage(raw, message);
            obj.Insert(0, "apiVersion", apiVersion);
            obj.Insert(1, "kind", kind);
            return obj;
        }
        catch (FormatException e)
        {
            throw ApiError.BadRequest($"malformed protobuf body: {e.Message}");
        }
    }

    private static JsonObject DecodeMessage(ReadOnlyMemory<byte> bytes, Dictionary<int, Field> message)
    {
        var obj = new JsonObject();
        var reader = new Reader(bytes);
        while (reader.TryReadField(out var number, out var wireType))
        {
            if (!message.TryGetValue(number, out var field))
            {
                reader.Skip(wireType);
                continue;
            }

            switch (field.Kind)
            {
                case Kind.String:
                    // Go's omitempty: an empty string on the wire does not appear in the JSON form.
                    var text = reader.ReadString();
                    if (text.Length > 0 || field.Repeated)
                    {
                        Put(obj, field, text);
                    }

                    break;
                case Kind.Bytes:
                    Put(obj, field, Convert.ToBase64String(reader.ReadBytes().Span));
                    break;
                case Kind.Bool:
                    Put(obj, field, reader.ReadVarint() != 0);
                    break;
                case Kind.Int64:
                    Put(obj, field, (long)reader.ReadVarint());
                    break;
                case Kind.Time:
                    Put(obj, field, DecodeTime(reader.ReadBytes()));
                    break;
                case Kind.Message:
                    Put(obj, field, DecodeMessage(reader.ReadBytes(), field.Message!));
                    break;
                case Kind.MapStringString:
                case Kind.MapStringBytes:
                    var (key, value) = DecodeMapEntry(reader.ReadBytes(), field.Kind == Kind.MapStringBytes);
                    if (obj[field.Name] is not JsonObject map)
                    {
                        map = new JsonObject();
                        obj[field.Name] = map;
                    }

                    map[key] = value;
                    break;
            }
        }

        return obj;
    }

    private static void Put(JsonObject obj, Field field, JsonNode value)
    {
        if (!field.Repeated)
        {
            obj[field.Name] = value;
            return;
        }

        if (obj[field.Name] is not JsonArray array)
        {
            array = [];
            obj[field.Name] = array;
        }

        array.Add(value);
    }

    private static (string Key, string Value) DecodeMapEntry(ReadOnlyMemory<byte> bytes, bool bytesValue)
    {
        var key = "";
        var value = "";
        var reader = new Reader(bytes);
        while (reader.TryReadField(out var number, out var wireType))
        {
            if (number == 1 && wireType == 2)
            {
                key = reader.ReadString();
            }
            else if (number == 2 && wireType == 2)
            {
                value = bytesValue ? Convert.ToBase64String(reader.ReadBytes().Span) : reader.ReadString();
            }
            else
            {
                reader.Skip(wireType);
            }
        }

        return (key, value);
    }

    /// <summary>meta/v1 Time (seconds = 1, nanos = 2) as the JSON form: RFC 3339 in UTC, whole seconds.</summary>
    private static string DecodeTime(ReadOnlyMemory<byte> bytes)
    {
        long seconds = 0;
        var reader = new Reader(bytes);
        while (reader.TryReadField(out var number, out var wireType))
        {
            if (number == 1 && wireType == 0)
            {
                seconds = (long)reader.ReadVarint();
            }
            else
            {
                reader.Skip(wireType);
            }
        }

        return DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary>Protobuf wire-format reader over one message. Owned by one call; not thread-safe.</summary>
    private struct Reader
    {
        private readonly ReadOnlyMemory<byte> _bytes;
        private int _position;

        public Reader(ReadOnlyMemory<byte> bytes)
        {
            _bytes = bytes;
            _position = 0;
        }

        public bool TryReadField(out int number, out int wireType)
        {
            if (_position >= _bytes.Length)
            {
                number = 0;
                wireType = 0;
                return false;
            }

            var tag = ReadVarint();
            number = (int)(tag >> 3);
            wireType = (int)(tag & 7);
            return true;
        }

        public ulong ReadVarint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _bytes.Length)
                {
                    throw new FormatException("truncated varint");
                }

                var b = _bytes.Span[_position++];
                result |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return result;
                }
            }

            throw new FormatException("varint longer than 10 bytes");
        }

        public ReadOnlyMemory<byte> ReadBytes()
        {
            var length = ReadVarint();
            if (length > (ulong)(_bytes.Length - _position))
            {
                throw new FormatException("length-delimited field runs past its message");
            }

            var slice = _bytes.Slice(_position, (int)length);
            _position += (int)length;
            return slice;
        }

        public string ReadString() => Encoding.UTF8.GetString(ReadBytes().Span);

        public void Skip(int wireType)
        {
            switch (wireType)
            {
                case 0:
                    ReadVarint();
                    break;
                case 1:
                    Advance(8);
                    break;
                case 2:
                    ReadBytes();
                    break;
                case 5:
                    Advance(4);
                    break;
                default:
                    throw new FormatException($"unsupported wire type {wireType}");
            }
        }

        private void Advance(int count)
        {
            if (_position + count > _bytes.Length)
            {
                throw new FormatException("fixed-size field runs past its message");
            }

            _position += count;
        }
    }
}
