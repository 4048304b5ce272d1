using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kube.ApiServer.Validation;

/// <summary>
/// apimachinery's name, label and annotation syntax rules with the exact messages the apiserver prints.
/// Stateless; thread-safe.
/// </summary>
internal static partial class NameRules
{
    public const string Dns1123SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    public const string Dns1123LabelMessage =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    public const string Dns1035LabelMessage =
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

    public const string QualifiedNamePartMessage =
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

    public const string LabelValueMessage =
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1035Label();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedNamePart();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("^[-a-z0-9]+$")]
    private static partial Regex IanaSvcNameChars();

    [GeneratedRegex("[a-z]")]
    private static partial Regex HasLetter();

    /// <summary>Problems with a DNS-1123 subdomain (at most 253 characters), as detail strings.</summary>
    public static List<string> CheckDns1123Subdomain(string value)
    {
        var errs = new List<string>();
        if (value.Length > 253)
        {
            errs.Add("must be no more than 253 characters");
        }
        if (!Dns1123Subdomain().IsMatch(value))
        {
            errs.Add(Dns1123SubdomainMessage);
        }
        return errs;
    }

    public static List<string> CheckDns1123Label(string value)
    {
        var errs = new List<string>();
        if (value.Length > 63)
        {
            errs.Add("must be no more than 63 characters");
        }
        if (!Dns1123Label().IsMatch(value))
        {
            errs.Add(Dns1123LabelMessage);
        }
        return errs;
    }

    public static List<string> CheckDns1035Label(string value)
    {
        var errs = new List<string>();
        if (value.Length > 63)
        {
            errs.Add("must be no more than 63 characters");
        }
        if (!Dns1035Label().IsMatch(value))
        {
            errs.Add(Dns1035LabelMessage);
        }
        return errs;
    }

    /// <summary>Path-segment names (RBAC kinds): no '/', no '%', not '.' or '..'.</summary>
    public static List<string> CheckPathSegment(string value)
    {
        var errs = new List<string>();
        if (value is "." or "..")
        {
            errs.Add($"may not be '{value}'");
        }
        foreach (var bad in new[] { "/", "%" })
        {
            if (value.Contains(bad, StringComparison.Ordinal))
            {
                errs.Add($"may not contain '{bad}'");
            }
        }
        return errs;
    }

    /// <summary>A label key or other qualified name ("prefix/name").</summary>
    public static List<string> CheckQualifiedName(string value)
    {
        var errs = new List<string>();
        var parts = value.Split('/');
        string name;
        switch (parts.Length)
        {
            case 1:
                name = parts[0];
                break;
            case 2:
                var prefix = parts[0];
                name = parts[1];
                if (prefix.Length == 0)
                {
                    errs.Add("prefix part must be non-empty");
                }
                else
                {
                    errs.AddRange(CheckDns1123Subdomain(prefix).Select(m => "prefix part " + m));
                }
                break;
            default:
                errs.Add("a qualified name " + QualifiedNamePartMessage.Replace("name part ", "", StringComparison.Ordinal) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
                return errs;
        }
        if (name.Length == 0)
        {
            errs.Add("name part must be non-empty");
        }
        else if (name.Length > 63)
        {
            errs.Add("name part must be no more than 63 characters");
        }
        if (name.Length > 0 && !QualifiedNamePart().IsMatch(name))
        {
            errs.Add(QualifiedNamePartMessage);
        }
        return errs;
    }

    public static List<string> CheckLabelValue(string value)
    {
        var errs = new List<string>();
        if (value.Length > 63)
        {
            errs.Add("must be no more than 63 characters");
        }
        if (!LabelValue().IsMatch(value))
        {
            errs.Add(LabelValueMessage);
        }
        return errs;
    }

    /// <summary>IANA service names (port names): apimachinery's IsValidPortName.</summary>
    public static List<string> CheckPortName(string value)
    {
        var errs = new List<string>();
        if (value.Length > 15)
        {
            errs.Add("must be no more than 15 characters");
        }
        if (!IanaSvcNameChars().IsMatch(value))
        {
            errs.Add("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
        }
        if (!HasLetter().IsMatch(value))
        {
            errs.Add("must contain at least one letter (a-z)");
        }
        if (value.Contains("--", StringComparison.Ordinal))
        {
            errs.Add("must not contain consecutive hyphens");
        }
        if (value.Length > 0 && (value[0] == '-' || value[^1] == '-'))
        {
            errs.Add("must not begin or end with a hyphen");
        }
        return errs;
    }

    /// <summary>metadata.labels: keys are qualified names, values label values.</summary>
    public static void ValidateLabels(JsonObject? labels, string path, List<FieldError> errors)
    {
        if (labels is null)
        {
            return;
        }
        foreach (var (key, value) in labels)
        {
            foreach (var m in CheckQualifiedName(key))
            {
                errors.Add(FieldError.Invalid(path, key, m));
            }
            var text = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "";
            foreach (var m in CheckLabelValue(text))
            {
                errors.Add(FieldError.Invalid(path, text, m));
            }
        }
    }

    public static void ValidateAnnotations(JsonObject? annotations, string path, List<FieldError> errors)
    {
        if (annotations is null)
        {
            return;
        }
        long total = 0;
        foreach (var (key, value) in annotations)
        {
            foreach (var m in CheckQualifiedName(key.ToLowerInvariant()))
            {
                errors.Add(FieldError.Invalid(path, key, m));
            }
            total += key.Length + (value?.ToString().Length ?? 0);
        }
        if (total > 256 * 1024)
        {
            errors.Add(new FieldError(FieldErrorType.TooLong, path, null, "must have at most 262144 bytes", HasValue: false));
        }
    }
}
