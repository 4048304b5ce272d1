namespace Operator.Api.Schema;

// Attributes read by tools/CrdGenerator to turn these types into the CRDs' openAPIV3Schema.
// They describe the API surface only; the model validates semantics and names the field on error.

/// <summary>The property must be present (schema <c>required</c>). Immutable; thread-safe.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RequiredFieldAttribute : Attribute;

/// <summary>The value is one of these strings (schema <c>enum</c>). Immutable; thread-safe.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class EnumValuesAttribute(params string[] values) : Attribute
{
    public IReadOnlyList<string> Values { get; } = values;
}

/// <summary>Inclusive lower bound of a number (schema <c>minimum</c>). Immutable; thread-safe.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MinimumAttribute(long value) : Attribute
{
    public long Value { get; } = value;
}

/// <summary>Inclusive upper bound of a number (schema <c>maximum</c>). Immutable; thread-safe.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MaximumAttribute(long value) : Attribute
{
    public long Value { get; } = value;
}

/// <summary>Regular expression a string must match (schema <c>pattern</c>). Immutable; thread-safe.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PatternAttribute(string regex) : Attribute
{
    public string Regex { get; } = regex;
}

/// <summary>
/// An object kept as sent (schema <c>x-kubernetes-preserve-unknown-fields</c>): free-form maps such as
/// <c>config</c>, and sections this operator accepts but does not model (templates, zookeeper, metrics).
/// Immutable; thread-safe.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PreserveUnknownFieldsAttribute : Attribute;

/// <summary>Human text for the schema's <c>description</c>. Immutable; thread-safe.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Class)]
public sealed class DocAttribute(string text) : Attribute
{
    public string Text { get; } = text;
}

/// <summary>
/// A CEL rule on an object (schema <c>x-kubernetes-validations</c>), as Strimzi ships them. Enforced by real
/// API servers (1.25+); the test fixture does not evaluate CEL, so the model checks the same things where it
/// relies on them. Immutable; thread-safe.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class CelRuleAttribute(string rule, string message) : Attribute
{
    public string Rule { get; } = rule;

    public string Message { get; } = message;
}
