namespace Broker.Coordinators.Groups;

/// <summary>The classic group states (Kafka's ClassicGroupState).</summary>
public enum GroupState
{
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

/// <summary>Names as they appear on the wire (ListGroups, DescribeGroups). Stateless; thread-safe.</summary>
public static class GroupStateNames
{
    public static string Name(GroupState state) => state switch
    {
        GroupState.Empty => "Empty",
        GroupState.PreparingRebalance => "PreparingRebalance",
        GroupState.CompletingRebalance => "CompletingRebalance",
        GroupState.Stable => "Stable",
        _ => "Dead",
    };
}
