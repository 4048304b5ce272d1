namespace Operator.Model;

/// <summary>
/// One reason a desired state cannot be built. <see cref="Field"/> is the path in the resource named by
/// <see cref="Resource"/> (e.g. <c>KafkaNodePool/broker</c>, <c>spec.storage.volumes[0].size</c>).
/// Immutable; thread-safe.
/// </summary>
public sealed record ValidationError(string Resource, string Field, string Message)
{
    public override string ToString() => $"{Resource}: {Field}: {Message}";
}

/// <summary>A non-fatal finding, reported as a Warning condition with this reason. Immutable; thread-safe.</summary>
public sealed record ModelWarning(string Reason, string Message);

/// <summary>Thrown by <see cref="KafkaClusterModel.From"/> when the CRs are invalid. Immutable; thread-safe.</summary>
public sealed class InvalidKafkaResourceException : Exception
{
    public InvalidKafkaResourceException(IReadOnlyList<ValidationError> errors)
        : base(string.Join("; ", errors))
    {
        Errors = errors;
    }

    public InvalidKafkaResourceException()
        : this([])
    {
    }

    public InvalidKafkaResourceException(string message)
        : base(message)
    {
        Errors = [];
    }

    public InvalidKafkaResourceException(string message, Exception inner)
        : base(message, inner)
    {
        Errors = [];
    }

    public IReadOnlyList<ValidationError> Errors { get; }
}
