"""ui/widgets/models"""
